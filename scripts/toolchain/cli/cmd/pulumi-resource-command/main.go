// pulumi-resource-command, as built by swarmkit's toolchain on machines where the upstream provider cannot be
// fetched from the Go module proxy. It serves the part of the command provider's contract (v1.2.1) that swarmkit
// uses, for the unchanged @pulumi/command SDK:
//
//	command:local:Command   create, update, delete, environment, dir, stdin, triggers, logging
//	command:remote:Command  the same over SSH (connection: host, port, user, privateKey, password,
//	                        dialErrorLimit, perDialTimeout)
//
// outputs stdout and stderr; a change of triggers replaces, any other input change runs update (or create).
// On a machine with a normal Pulumi install the upstream provider is used instead.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
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

// Inputs that decide whether a command changed; outputs (stdout, stderr) are not among them.
var inputKeys = []resource.PropertyKey{
	"create", "update", "delete", "stdin", "environment", "dir", "connection", "logging",
	"addPreviousOutputInEnv", "interpreter",
}

type commandProvider struct {
	pulumirpc.UnimplementedResourceProviderServer
	host *provider.HostClient
}

func main() {
	if err := provider.Main("command", func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return &commandProvider{host: host}, nil
	}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

var marshalOpts = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, SkipNulls: true}

func unmarshal(s *structpb.Struct) (resource.PropertyMap, error) { return plugin.UnmarshalProperties(s, marshalOpts) }
func marshal(m resource.PropertyMap) (*structpb.Struct, error)   { return plugin.MarshalProperties(m, marshalOpts) }

// plain turns a property value into plain Go values, secrets unwrapped.
func plain(v resource.PropertyValue) any {
	switch {
	case v.IsSecret():
		return plain(v.SecretValue().Element)
	case v.IsNull():
		return nil
	case v.IsComputed() || v.IsOutput():
		return "<unknown>"
	case v.IsBool():
		return v.BoolValue()
	case v.IsNumber():
		return v.NumberValue()
	case v.IsString():
		return v.StringValue()
	case v.IsArray():
		out := []any{}
		for _, e := range v.ArrayValue() {
			out = append(out, plain(e))
		}
		return out
	case v.IsObject():
		out := map[string]any{}
		for k, e := range v.ObjectValue() {
			out[string(k)] = plain(e)
		}
		return out
	default:
		return fmt.Sprint(v.V)
	}
}

func str(m resource.PropertyMap, key string) string {
	if v, ok := m[resource.PropertyKey(key)]; ok {
		if s, ok := plain(v).(string); ok {
			return s
		}
	}
	return ""
}

func boolOr(m resource.PropertyMap, key string, fallback bool) bool {
	if v, ok := m[resource.PropertyKey(key)]; ok {
		if b, ok := plain(v).(bool); ok {
			return b
		}
	}
	return fallback
}

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

func (p *commandProvider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	t := resourceType(req.GetUrn())
	if t != localType && t != remoteType {
		return nil, fmt.Errorf("unknown resource type %q", t)
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
	same := func(key resource.PropertyKey) bool {
		o, n := olds[key], news[key]
		if n.ContainsUnknowns() {
			return false
		}
		return reflect.DeepEqual(plain(o), plain(n))
	}
	var diffs, replaces []string
	for _, key := range inputKeys {
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
	return &pulumirpc.DiffResponse{Changes: changes, Diffs: diffs, Replaces: replaces}, nil
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (p *commandProvider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	inputs, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	state := inputs.Copy()
	if req.GetPreview() {
		state["stdout"] = resource.MakeComputed(resource.NewStringProperty(""))
		state["stderr"] = resource.MakeComputed(resource.NewStringProperty(""))
	} else if err := p.run(ctx, req.GetUrn(), inputs, str(inputs, "create"), nil, state); err != nil {
		return nil, err
	}
	props, err := marshal(state)
	if err != nil {
		return nil, err
	}
	id := newID()
	if req.GetPreview() {
		id = ""
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
	script := str(news, "update")
	if script == "" {
		script = str(news, "create")
	}
	if req.GetPreview() {
		state["stdout"] = resource.MakeComputed(resource.NewStringProperty(""))
		state["stderr"] = resource.MakeComputed(resource.NewStringProperty(""))
	} else if err := p.run(ctx, req.GetUrn(), news, script, olds, state); err != nil {
		return nil, err
	}
	props, err := marshal(state)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

func (p *commandProvider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	olds, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	if script := str(olds, "delete"); script != "" {
		if err := p.run(ctx, req.GetUrn(), olds, script, olds, nil); err != nil {
			return nil, err
		}
	}
	return &emptypb.Empty{}, nil
}

func (p *commandProvider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

// run executes one script and, when state is given, records its stdout and stderr there. A secret stdin or
// environment keeps the outputs secret too (the engine also applies additionalSecretOutputs).
func (p *commandProvider) run(ctx context.Context, urn string, inputs resource.PropertyMap, script string,
	previous resource.PropertyMap, state resource.PropertyMap,
) error {
	if script == "" {
		if state != nil {
			state["stdout"], state["stderr"] = resource.NewStringProperty(""), resource.NewStringProperty("")
		}
		return nil
	}
	env := map[string]string{}
	if e, ok := inputs["environment"]; ok {
		if m, ok := plain(e).(map[string]any); ok {
			for k, v := range m {
				env[k] = fmt.Sprint(v)
			}
		}
	}
	if previous != nil && boolOr(inputs, "addPreviousOutputInEnv", true) {
		env["PULUMI_COMMAND_STDOUT"] = str(previous, "stdout")
		env["PULUMI_COMMAND_STDERR"] = str(previous, "stderr")
	}
	stdin := str(inputs, "stdin")

	var stdout, stderr string
	var err error
	switch resourceType(urn) {
	case localType:
		stdout, stderr, err = runLocal(ctx, script, str(inputs, "dir"), env, stdin)
	case remoteType:
		conn, ok := inputs["connection"]
		if !ok {
			return fmt.Errorf("connection is required")
		}
		c, _ := plain(conn).(map[string]any)
		stdout, stderr, err = runRemote(ctx, c, script, env, stdin)
	default:
		return fmt.Errorf("unknown resource type in %s", urn)
	}

	logging := str(inputs, "logging")
	if logging == "" {
		logging = "stdoutAndStderr"
	}
	if p.host != nil {
		if (logging == "stdout" || logging == "stdoutAndStderr") && strings.TrimSpace(stdout) != "" {
			_ = p.host.Log(ctx, diag.Info, resource.URN(urn), strings.TrimRight(stdout, "\n"))
		}
		if (logging == "stderr" || logging == "stdoutAndStderr") && strings.TrimSpace(stderr) != "" {
			_ = p.host.Log(ctx, diag.Info, resource.URN(urn), strings.TrimRight(stderr, "\n"))
		}
	}
	if err != nil {
		// Stdout may carry what the command was trusted with; only stderr goes into the error.
		return fmt.Errorf("%w: running %s:\nStderr: %s", err, firstLine(script), strings.TrimSpace(stderr))
	}
	if state != nil {
		secret := inputs["stdin"].IsSecret() || inputs["environment"].ContainsSecrets()
		for key, value := range map[resource.PropertyKey]string{"stdout": stdout, "stderr": stderr} {
			v := resource.NewStringProperty(strings.TrimSuffix(value, "\n"))
			if secret {
				v = resource.MakeSecret(v)
			}
			state[key] = v
		}
	}
	return nil
}

func firstLine(script string) string {
	for _, line := range strings.Split(script, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			if len(line) > 120 {
				line = line[:120] + "..."
			}
			return strconv.Quote(line)
		}
	}
	return `""`
}

func runLocal(ctx context.Context, script, dir string, env map[string]string, stdin string) (string, string, error) {
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", script)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

func number(c map[string]any, key string, fallback int) int {
	if v, ok := c[key].(float64); ok {
		return int(v)
	}
	return fallback
}

func runRemote(ctx context.Context, c map[string]any, script string, env map[string]string, stdin string) (string, string, error) {
	host, _ := c["host"].(string)
	user, _ := c["user"].(string)
	if user == "" {
		user = "root"
	}
	port := number(c, "port", 22)
	config := &ssh.ClientConfig{
		User: user,
		// Like the upstream provider: machines are new, their host keys unknown in advance.
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), //nolint:gosec
		Timeout:         time.Duration(number(c, "perDialTimeout", 15)) * time.Second,
	}
	if key, _ := c["privateKey"].(string); key != "" {
		signer, err := ssh.ParsePrivateKey([]byte(key))
		if err != nil {
			return "", "", fmt.Errorf("parsing the private key: %w", err)
		}
		config.Auth = append(config.Auth, ssh.PublicKeys(signer))
	}
	if password, _ := c["password"].(string); password != "" {
		config.Auth = append(config.Auth, ssh.Password(password))
	}
	address := net.JoinHostPort(host, strconv.Itoa(port))
	limit := number(c, "dialErrorLimit", 10)
	var client *ssh.Client
	var err error
	for attempt := 1; ; attempt++ {
		if client, err = ssh.Dial("tcp", address, config); err == nil {
			break
		}
		if limit >= 0 && attempt >= limit {
			return "", "", fmt.Errorf("ssh %s@%s: gave up after %d attempts: %w", user, address, attempt, err)
		}
		select {
		case <-ctx.Done():
			return "", "", ctx.Err()
		case <-time.After(time.Second):
		}
	}
	defer client.Close()
	session, err := client.NewSession()
	if err != nil {
		return "", "", fmt.Errorf("ssh %s: new session: %w", address, err)
	}
	defer session.Close()
	for k, v := range env {
		_ = session.Setenv(k, v) // refused unless sshd's AcceptEnv allows it, as upstream
	}
	var out, errOut bytes.Buffer
	session.Stdout, session.Stderr = &out, &errOut
	session.Stdin = strings.NewReader(stdin)
	err = session.Run(script)
	return out.String(), errOut.String(), err
}



