package main

// The contract of docs/command-provider.md, checked against this build: retry schedule, error shape, host key
// pinning, secretness, logging, triggers/replace, previews, and delete with the stored connection. Remote commands
// run against an SSH server in this process (testServer), on loopback.

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/retry"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const (
	localURN  = "urn:pulumi:test::proj::command:local:Command::c"
	remoteURN = "urn:pulumi:test::proj::command:remote:Command::c"
)

// fakeClock records the waits of dialWithRetry instead of sleeping them.
func fakeClock(t *testing.T) *[]time.Duration {
	waits := &[]time.Duration{}
	saved := retryer
	retryer = retry.Retryer{After: func(d time.Duration) <-chan time.Time {
		*waits = append(*waits, d)
		ch := make(chan time.Time, 1)
		ch <- time.Now()
		return ch
	}}
	t.Cleanup(func() { retryer = saved })
	return waits
}

func TestDialRetryScheduleIsUpstreams(t *testing.T) {
	waits := fakeClock(t)
	attempts := 0
	_, err := dialWithRetry(context.Background(), 30, func(string) {}, func() (int, error) {
		attempts++
		return 0, errors.New("connect: connection refused")
	})
	if attempts != 31 {
		t.Fatalf("limit 30 made %d attempts, want 31 (limit + 1)", attempts)
	}
	if err == nil || err.Error() != "after 30 failed attempts: connect: connection refused" {
		t.Fatalf("error %v", err)
	}
	total := time.Duration(0)
	for i, w := range *waits {
		want := time.Duration(math.Min(100*math.Pow(1.5, float64(i)), 5000)) * time.Millisecond
		if d := w - want; d > time.Millisecond || d < -time.Millisecond {
			t.Fatalf("wait %d is %v, want %v", i, w, want)
		}
		total += w
	}
	if len(*waits) != 30 || total < 111*time.Second || total > 112*time.Second {
		t.Fatalf("%d waits, %v in all; want 30 waits, about 111.3 s", len(*waits), total)
	}
}

func TestDialLimitZeroTriesOnceAndUnlimitedKeepsGoing(t *testing.T) {
	fakeClock(t)
	attempts := 0
	if _, err := dialWithRetry(context.Background(), 0, func(string) {}, func() (int, error) {
		attempts++
		return 0, errors.New("refused")
	}); err == nil || attempts != 1 {
		t.Fatalf("limit 0: %d attempts, err %v", attempts, err)
	}
	attempts = 0
	got, err := dialWithRetry(context.Background(), -1, func(string) {}, func() (int, error) {
		attempts++
		if attempts < 200 {
			return 0, errors.New("refused")
		}
		return 42, nil
	})
	if err != nil || got != 42 {
		t.Fatalf("unlimited: %v %v", got, err)
	}
}

func TestDialStatusLinesAreUpstreams(t *testing.T) {
	fakeClock(t)
	var lines []string
	_, _ = dialWithRetry(context.Background(), 2, func(s string) { lines = append(lines, s) }, func() (int, error) {
		return 0, errors.New("refused")
	})
	if strings.Join(lines, "|") != "Dial 1/2 failed: retrying|Dial 2/2 failed: retrying" {
		t.Fatalf("status lines %q", lines)
	}
}

// testServer is a minimal SSH server: public-key auth with one key, exec through /bin/sh, env requests refused.
type testServer struct {
	addr     string
	hostKey  ssh.Signer
	clientPK string
	mu       sync.Mutex
	ran      []string
}

func newKey(t *testing.T) (ssh.Signer, string) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return signer, string(pem.EncodeToMemory(block))
}

func startServer(t *testing.T) *testServer {
	hostKey, _ := newKey(t)
	client, clientPEM := newKey(t)
	s := &testServer{hostKey: hostKey, clientPK: clientPEM}
	config := &ssh.ServerConfig{PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
		if string(key.Marshal()) == string(client.PublicKey().Marshal()) {
			return nil, nil
		}
		return nil, errors.New("unknown key")
	}}
	config.AddHostKey(hostKey)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	s.addr = l.Addr().String()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go s.serve(conn, config)
		}
	}()
	return s
}

func (s *testServer) serve(conn net.Conn, config *ssh.ServerConfig) {
	_, chans, reqs, err := ssh.NewServerConn(conn, config)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		ch, requests, err := nc.Accept()
		if err != nil {
			continue
		}
		go func() {
			defer ch.Close()
			for req := range requests {
				switch req.Type {
				case "env":
					_ = req.Reply(false, nil)
				case "exec":
					command := string(req.Payload[4:])
					s.mu.Lock()
					s.ran = append(s.ran, command)
					s.mu.Unlock()
					_ = req.Reply(true, nil)
					cmd := exec.Command("/bin/sh", "-c", command)
					cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, ch.Stderr()
					code := 0
					if err := cmd.Run(); err != nil {
						code = 1
						var exit *exec.ExitError
						if errors.As(err, &exit) {
							code = exit.ExitCode()
						}
					}
					status := make([]byte, 4)
					binary.BigEndian.PutUint32(status, uint32(code))
					_, _ = ch.SendRequest("exit-status", false, status)
					return
				default:
					_ = req.Reply(false, nil)
				}
			}
		}()
	}
}

func (s *testServer) connection(hostKey string, limit int) resource.PropertyValue {
	host, port, _ := net.SplitHostPort(s.addr)
	var p float64
	fmt.Sscan(port, &p)
	c := resource.PropertyMap{
		"host":           resource.NewStringProperty(host),
		"port":           resource.NewNumberProperty(p),
		"user":           resource.NewStringProperty("root"),
		"privateKey":     resource.MakeSecret(resource.NewStringProperty(s.clientPK)),
		"dialErrorLimit": resource.NewNumberProperty(float64(limit)),
		"perDialTimeout": resource.NewNumberProperty(2),
	}
	if hostKey != "" {
		c["hostKey"] = resource.NewStringProperty(hostKey)
	}
	return resource.NewObjectProperty(c)
}

func authorized(key ssh.PublicKey) string { return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))) }

type recordingLog struct {
	mu             sync.Mutex
	logs, statuses []string
}

func (r *recordingLog) Log(_ context.Context, sev diag.Severity, _ resource.URN, msg string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, string(sev)+": "+msg)
	return nil
}

func (r *recordingLog) LogStatus(_ context.Context, _ diag.Severity, _ resource.URN, msg string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.statuses = append(r.statuses, msg)
	return nil
}

func create(t *testing.T, p *commandProvider, urn string, inputs resource.PropertyMap, preview bool) (resource.PropertyMap, error) {
	t.Helper()
	props, err := marshal(inputs)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := p.Create(context.Background(), &pulumirpc.CreateRequest{Urn: urn, Properties: props, Preview: preview})
	if err != nil {
		return nil, err
	}
	out, err := unmarshal(resp.GetProperties())
	if err != nil {
		t.Fatal(err)
	}
	return out, nil
}

func TestHostKeyPinned(t *testing.T) {
	s := startServer(t)
	p := &commandProvider{}
	good := authorized(s.hostKey.PublicKey())
	out, err := create(t, p, remoteURN, resource.PropertyMap{
		"create":     resource.NewStringProperty("echo hello"),
		"connection": s.connection(good, 0),
	}, false)
	if err != nil || out["stdout"].StringValue() != "hello" {
		t.Fatalf("pinned to the right key: %v %v", out, err)
	}
	other, _ := newKey(t)
	_, err = create(t, p, remoteURN, resource.PropertyMap{
		"create":     resource.NewStringProperty("echo hello"),
		"connection": s.connection(authorized(other.PublicKey()), 0),
	}, false)
	if err == nil || !strings.Contains(err.Error(), "host key mismatch") || !strings.Contains(err.Error(), "after 0 failed attempts") {
		t.Fatalf("pinned to another key: %v", err)
	}
	// No hostKey: any key is accepted, as upstream.
	if _, err := create(t, p, remoteURN, resource.PropertyMap{
		"create": resource.NewStringProperty("true"), "connection": s.connection("", 0),
	}, false); err != nil {
		t.Fatalf("no hostKey: %v", err)
	}
}

func TestFailedCommandErrorCarriesScriptAndBothStreams(t *testing.T) {
	s := startServer(t)
	script := "echo to-stdout; echo to-stderr >&2; exit 3"
	for _, tc := range []struct {
		urn    string
		inputs resource.PropertyMap
	}{
		{localURN, resource.PropertyMap{"create": resource.NewStringProperty(script), "logging": resource.NewStringProperty("none")}},
		{remoteURN, resource.PropertyMap{"create": resource.NewStringProperty(script), "logging": resource.NewStringProperty("none"), "connection": s.connection("", 0)}},
	} {
		_, err := create(t, &commandProvider{}, tc.urn, tc.inputs, false)
		if err == nil {
			t.Fatalf("%s: no error", tc.urn)
		}
		for _, want := range []string{fmt.Sprintf("running %q", script), "to-stdout", "to-stderr"} {
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("%s: error %q lacks %q (logging none does not hide it, as upstream)", tc.urn, err, want)
			}
		}
	}
}

func TestOutputsAreNotSecretEvenWithSecretStdin(t *testing.T) {
	out, err := create(t, &commandProvider{}, localURN, resource.PropertyMap{
		"create": resource.NewStringProperty("cat"),
		"stdin":  resource.MakeSecret(resource.NewStringProperty("token")),
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	if out["stdout"].IsSecret() || out["stdout"].StringValue() != "token" {
		t.Fatalf("stdout %v: only additionalSecretOutputs may make it secret", out["stdout"])
	}
}

func TestOutputIsShownAsStatusOnly(t *testing.T) {
	for _, tc := range []struct {
		logging  string
		statuses string
	}{
		{"", "out|err"}, {"stdoutAndStderr", "out|err"}, {"stdout", "out"}, {"stderr", "err"}, {"none", ""},
	} {
		log := &recordingLog{}
		inputs := resource.PropertyMap{"create": resource.NewStringProperty("echo out; sleep 0.1; echo err >&2")}
		if tc.logging != "" {
			inputs["logging"] = resource.NewStringProperty(tc.logging)
		}
		if _, err := create(t, &commandProvider{log: log}, localURN, inputs, false); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(log.statuses, "|"); got != tc.statuses || len(log.logs) != 0 {
			t.Fatalf("logging %q: statuses %q, diagnostics %q", tc.logging, got, log.logs)
		}
	}
}

func TestTriggersReplaceOtherInputsUpdate(t *testing.T) {
	base := resource.PropertyMap{
		"create":   resource.NewStringProperty("a"),
		"triggers": resource.NewArrayProperty([]resource.PropertyValue{resource.NewStringProperty("1")}),
		"stdout":   resource.NewStringProperty("old output"),
	}
	changed := base.Copy()
	changed["create"] = resource.NewStringProperty("b")
	delete(changed, "stdout")
	if d := diff(base, changed); d.Changes != pulumirpc.DiffResponse_DIFF_SOME || len(d.Replaces) != 0 {
		t.Fatalf("create changed: %v", d)
	}
	retriggered := base.Copy()
	retriggered["triggers"] = resource.NewArrayProperty([]resource.PropertyValue{resource.NewStringProperty("2")})
	delete(retriggered, "stdout")
	if d := diff(base, retriggered); len(d.Replaces) != 1 || d.Replaces[0] != "triggers" {
		t.Fatalf("triggers changed: %v", d)
	}
	same := base.Copy()
	delete(same, "stdout")
	if d := diff(base, same); d.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("nothing changed: %v", d)
	}
}

func TestPreviewOfUpdateKeepsPreviousOutputs(t *testing.T) {
	olds := resource.PropertyMap{"create": resource.NewStringProperty("echo a"), "stdout": resource.NewStringProperty("a")}
	news := resource.PropertyMap{"create": resource.NewStringProperty("echo b")}
	o, _ := marshal(olds)
	n, _ := marshal(news)
	resp, err := (&commandProvider{}).Update(context.Background(), &pulumirpc.UpdateRequest{Urn: localURN, Olds: o, News: n, Preview: true})
	if err != nil {
		t.Fatal(err)
	}
	state, _ := unmarshal(resp.GetProperties())
	if state["stdout"].StringValue() != "a" {
		t.Fatalf("preview of an update: stdout %v, want the previous output", state["stdout"])
	}
	created, err := create(t, &commandProvider{}, localURN, news, true)
	if err != nil || !created["stdout"].IsComputed() {
		t.Fatalf("preview of a create: stdout %v, want unknown", created["stdout"])
	}
}

func TestDeleteRunsWithTheStoredConnection(t *testing.T) {
	s := startServer(t)
	stored := resource.PropertyMap{
		"create":     resource.NewStringProperty("true"),
		"delete":     resource.NewStringProperty("echo deleting"),
		"connection": s.connection(authorized(s.hostKey.PublicKey()), 0),
		"stdout":     resource.NewStringProperty(""),
	}
	props, _ := marshal(stored)
	if _, err := (&commandProvider{}).Delete(context.Background(), &pulumirpc.DeleteRequest{Urn: remoteURN, Properties: props}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(s.ran, "|") != "echo deleting" {
		t.Fatalf("ran %q on the stored host", s.ran)
	}
}

func TestRemoteEnvironmentRefusedFailsTheCommand(t *testing.T) {
	s := startServer(t)
	_, err := create(t, &commandProvider{}, remoteURN, resource.PropertyMap{
		"create":      resource.NewStringProperty("true"),
		"environment": resource.NewObjectProperty(resource.PropertyMap{"X": resource.NewStringProperty("1")}),
		"connection":  s.connection("", 0),
	}, false)
	if err == nil || !strings.Contains(err.Error(), `could not set environment variable "X"`) {
		t.Fatalf("refused variable: %v", err)
	}
}

func TestCheckRefusesWhatThisBuildDoesNotImplement(t *testing.T) {
	inputs := resource.PropertyMap{
		"create": resource.NewStringProperty("true"),
		"connection": resource.NewObjectProperty(resource.PropertyMap{
			"host":  resource.NewStringProperty("h"),
			"proxy": resource.NewObjectProperty(resource.PropertyMap{"host": resource.NewStringProperty("bastion")}),
		}),
		"assetPaths": resource.NewArrayProperty(nil),
	}
	props, _ := marshal(inputs)
	_, err := (&commandProvider{}).Check(context.Background(), &pulumirpc.CheckRequest{Urn: remoteURN, News: props})
	if err == nil || !strings.Contains(err.Error(), "assetPaths, connection.proxy") {
		t.Fatalf("check: %v", err)
	}
	ok, _ := marshal(resource.PropertyMap{"create": resource.NewStringProperty("true"), "interpreter": resource.NewArrayProperty(nil)})
	if _, err := (&commandProvider{}).Check(context.Background(), &pulumirpc.CheckRequest{Urn: localURN, News: ok}); err != nil {
		t.Fatalf("implemented inputs refused: %v", err)
	}
}

func TestCustomTimeoutEndsTheCommand(t *testing.T) {
	props, _ := marshal(resource.PropertyMap{"create": resource.NewStringProperty("sleep 5")})
	start := time.Now()
	_, err := (&commandProvider{}).Create(context.Background(), &pulumirpc.CreateRequest{Urn: localURN, Properties: props, Timeout: 0.3})
	if err == nil || time.Since(start) > 3*time.Second {
		t.Fatalf("timeout 0.3 s: err %v after %v", err, time.Since(start))
	}
}

func TestInterpreterIsUsed(t *testing.T) {
	out, err := create(t, &commandProvider{}, localURN, resource.PropertyMap{
		"create":      resource.NewStringProperty("print('from python')"),
		"interpreter": resource.NewArrayProperty([]resource.PropertyValue{resource.NewStringProperty("python3"), resource.NewStringProperty("-c")}),
	}, false)
	if err != nil || out["stdout"].StringValue() != "from python" {
		t.Fatalf("interpreter: %v %v", out, err)
	}
}
