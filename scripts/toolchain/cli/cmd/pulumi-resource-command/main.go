// pulumi-resource-command, as built by swarmkit's toolchain on machines where the upstream provider cannot be
// fetched from the Go module proxy. It serves the part of the command provider's contract (v1.2.1) that swarmkit
// uses, for the unchanged @pulumi/command SDK, and behaves as the upstream provider does wherever the kit could
// notice: the dial retry schedule and its error, host key pinning, the error of a failing command, what is secret,
// what is logged and how, and what a preview returns. docs/command-provider.md lists that contract with the
// upstream source it comes from; main_test.go checks it. An input it does not implement is refused (Check), so the
// kit can never depend on a difference.
//
//	command:local:Command   create, update, delete, environment, dir, stdin, interpreter, triggers, logging,
//	                        addPreviousOutputInEnv
//	command:remote:Command  the same but interpreter and dir, over SSH (connection: host, port, user, privateKey,
//	                        privateKeyPassword, password, agentSocketPath, dialErrorLimit, perDialTimeout, hostKey)
//
// Outputs stdout and stderr; a change of triggers replaces, any other input change runs update (or create).
// On a machine with a normal Pulumi install the upstream provider is used instead.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"reflect"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/pulumi/pulumi/pkg/v3/resource/provider"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// Version is set at build time with -ldflags.
var Version = "1.2.1"

const (
	localType  = "command:local:Command"
	remoteType = "command:remote:Command"
)

// Logger is the part of the engine's host the provider talks to; tests record what it is told.
type Logger interface {
	Log(ctx context.Context, sev diag.Severity, urn resource.URN, msg string) error
	LogStatus(ctx context.Context, sev diag.Severity, urn resource.URN, msg string) error
}

type commandProvider struct {
	pulumirpc.UnimplementedResourceProviderServer
	log Logger
}

func main() {
	if err := provider.Main("command", func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return &commandProvider{log: host}, nil
	}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

var marshalOpts = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, SkipNulls: true}

func unmarshal(s *structpb.Struct) (resource.PropertyMap, error) { return plugin.UnmarshalProperties(s, marshalOpts) }
func marshal(m resource.PropertyMap) (*structpb.Struct, error)   { return plugin.MarshalProperties(m, marshalOpts) }

func resourceType(urn string) string {
	parts := strings.Split(urn, "::")
	if len(parts) < 3 {
		return ""
	}
	types := strings.Split(parts[2], "$")
	return types[len(types)-1]
}

func (p *commandProvider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: Version}, nil
}

func (p *commandProvider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: `{"name":"command","version":"` + Version + `"}`}, nil
}

func (p *commandProvider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *commandProvider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{}, nil
}

func (p *commandProvider) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true, AcceptResources: true}, nil
}

func (p *commandProvider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// Check refuses what this build does not implement, instead of silently ignoring it.
func (p *commandProvider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	if err := checkInputs(resourceType(req.GetUrn()), news); err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *commandProvider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := unmarshal(req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	if len(olds) == 0 {
		if olds, err = unmarshal(req.GetOlds()); err != nil {
			return nil, err
		}
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	return diff(olds, news), nil
}

// diff: a change of triggers replaces, a change of any other input updates; outputs never count.
func diff(olds, news resource.PropertyMap) *pulumirpc.DiffResponse {
	same := func(key resource.PropertyKey) bool {
		o, n := olds[key], news[key]
		if n.ContainsUnknowns() {
			return false
		}
		return reflect.DeepEqual(plain(o), plain(n))
	}
	var diffs, replaces []string
	for _, key := range diffKeys {
		if !same(key) {
			diffs = append(diffs, string(key))
		}
	}
	if !same("triggers") {
		diffs = append(diffs, "triggers")
		replaces = append(replaces, "triggers")
	}
	changes := pulumirpc.DiffResponse_DIFF_NONE
	if len(diffs) > 0 {
		changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return &pulumirpc.DiffResponse{Changes: changes, Diffs: diffs, Replaces: replaces}
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// withTimeout applies customTimeouts: the engine passes the operation's timeout in seconds (0: none).
func withTimeout(ctx context.Context, seconds float64) (context.Context, context.CancelFunc) {
	if seconds <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, time.Duration(seconds*float64(time.Second)))
}

func (p *commandProvider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	inputs, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	state := inputs.Copy()
	id := newID()
	if req.GetPreview() {
		// Outputs of a command that has not run yet are unknown.
		state["stdout"] = resource.MakeComputed(resource.NewStringProperty(""))
		state["stderr"] = resource.MakeComputed(resource.NewStringProperty(""))
		id = ""
	} else {
		ctx, cancel := withTimeout(ctx, req.GetTimeout())
		defer cancel()
		if err := p.execute(ctx, req.GetUrn(), inputs, str(inputs, "create"), nil, state); err != nil {
			return nil, err
		}
	}
	props, err := marshal(state)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

func (p *commandProvider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	olds, err := unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	state := news.Copy()
	// As upstream: the previous run's outputs stay until the update runs, so a preview shows them, not unknowns.
	for _, key := range []resource.PropertyKey{"stdout", "stderr"} {
		if v, ok := olds[key]; ok {
			state[key] = v
		}
	}
	if !req.GetPreview() {
		script := str(news, "update")
		if script == "" {
			script = str(news, "create")
		}
		ctx, cancel := withTimeout(ctx, req.GetTimeout())
		defer cancel()
		if err := p.execute(ctx, req.GetUrn(), news, script, olds, state); err != nil {
			return nil, err
		}
	}
	props, err := marshal(state)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

// Delete runs the delete script with the inputs stored in the state: the connection of the last successful run.
func (p *commandProvider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	olds, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	if script := str(olds, "delete"); script != "" {
		ctx, cancel := withTimeout(ctx, req.GetTimeout())
		defer cancel()
		if err := p.execute(ctx, req.GetUrn(), olds, script, olds, nil); err != nil {
			return nil, err
		}
	}
	return &emptypb.Empty{}, nil
}

// Read (refresh) keeps the state as it is, as upstream does: a command has nothing to read back.
func (p *commandProvider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}
