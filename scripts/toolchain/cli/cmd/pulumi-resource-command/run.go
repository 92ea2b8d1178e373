package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

const (
	previousStdoutEnv = "PULUMI_COMMAND_STDOUT"
	previousStderrEnv = "PULUMI_COMMAND_STDERR"
)

// outputs collects a command's stdout and stderr, both together (for the error) and apart; the streams that the
// logging input selects are also shown line by line as transient status, as upstream does (util.LogOutput), so
// nothing of them reaches the run's diagnostics.
type outputs struct {
	stdout, stderr, both bytes.Buffer
	mu                   sync.Mutex
	status               io.WriteCloser
	done                 chan struct{}
	// What the command writes to: each stream apart, both together, and the selected ones to the status.
	stdoutW, stderrW io.Writer
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func newOutputs(logging string, status func(string)) *outputs {
	o := &outputs{done: make(chan struct{})}
	r, w := io.Pipe()
	o.status = w
	go func() {
		defer close(o.done)
		scanner := bufio.NewScanner(r)
		for scanner.Scan() {
			status(scanner.Text())
		}
		_, _ = io.Copy(io.Discard, r)
	}()
	both := lockedWriter{&o.mu, &o.both}
	stdout := []io.Writer{&o.stdout, both}
	stderr := []io.Writer{&o.stderr, both}
	if logging == "" || logging == "stdout" || logging == "stdoutAndStderr" {
		stdout = append(stdout, lockedWriter{&o.mu, w})
	}
	if logging == "" || logging == "stderr" || logging == "stdoutAndStderr" {
		stderr = append(stderr, lockedWriter{&o.mu, w})
	}
	o.stdoutW, o.stderrW = io.MultiWriter(stdout...), io.MultiWriter(stderr...)
	return o
}

func (o *outputs) close() {
	_ = o.status.Close()
	<-o.done
}

// execute runs one script and, when state is given, records its stdout and stderr there. Nothing here is marked
// secret: as upstream, only additionalSecretOutputs (applied by the engine) makes stdout or stderr secret.
func (p *commandProvider) execute(ctx context.Context, urn string, inputs resource.PropertyMap, script string,
	previous resource.PropertyMap, state resource.PropertyMap,
) error {
	if script == "" {
		if state != nil {
			state["stdout"], state["stderr"] = resource.NewStringProperty(""), resource.NewStringProperty("")
		}
		return nil
	}
	status := func(line string) {
		if p.log != nil {
			_ = p.log.LogStatus(ctx, diag.Info, resource.URN(urn), line)
		}
	}
	warn := func(msg string) {
		if p.log != nil {
			_ = p.log.Log(ctx, diag.Warning, resource.URN(urn), msg)
		}
	}
	prev := map[string]string{}
	if previous != nil && boolOr(inputs, "addPreviousOutputInEnv", true) {
		if s := str(previous, "stdout"); s != "" {
			prev[previousStdoutEnv] = s
		}
		if s := str(previous, "stderr"); s != "" {
			prev[previousStderrEnv] = s
		}
	}
	out := newOutputs(str(inputs, "logging"), status)
	var err error
	switch resourceType(urn) {
	case localType:
		err = runLocal(ctx, inputs, script, prev, out)
	case remoteType:
		c, _ := plain(inputs["connection"]).(map[string]any)
		if c == nil {
			err = fmt.Errorf("connection is required")
			break
		}
		err = runRemote(ctx, parseConnection(c), inputs, script, prev, out, status, warn)
	default:
		err = fmt.Errorf("unknown resource type in %s", urn)
	}
	out.close()
	if err != nil {
		return err
	}
	if state != nil {
		state["stdout"] = resource.NewStringProperty(strings.TrimSuffix(out.stdout.String(), "\n"))
		state["stderr"] = resource.NewStringProperty(strings.TrimSuffix(out.stderr.String(), "\n"))
	}
	return nil
}

// commandError is upstream's: the error, the whole script quoted, and what the command printed, both streams.
func commandError(err error, script string, out *outputs) error {
	out.mu.Lock()
	defer out.mu.Unlock()
	return fmt.Errorf("%w: running %q:\n%s", err, script, out.both.String())
}

func runLocal(ctx context.Context, inputs resource.PropertyMap, script string, prev map[string]string, out *outputs) error {
	args := stringList(inputs, "interpreter")
	if len(args) == 0 {
		args = []string{"/bin/sh", "-c"}
	}
	args = append(args, script)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	// A timeout (customTimeouts) ends the whole process group, not only the shell, so nothing keeps the pipes open.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	if dir := str(inputs, "dir"); dir != "" {
		cmd.Dir = dir
	} else if wd, err := os.Getwd(); err == nil {
		cmd.Dir = wd
	}
	cmd.Env = os.Environ()
	for k, v := range stringMap(inputs, "environment") {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	for k, v := range prev {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if stdin := str(inputs, "stdin"); stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	cmd.Stdout, cmd.Stderr = out.stdoutW, out.stderrW
	if err := cmd.Run(); err != nil {
		return commandError(err, script, out)
	}
	return nil
}

func runRemote(ctx context.Context, c connection, inputs resource.PropertyMap, script string, prev map[string]string,
	out *outputs, status, warn func(string),
) error {
	client, err := c.dial(ctx, status)
	if err != nil {
		return err
	}
	defer client.Close()
	session, err := client.NewSession()
	if err != nil {
		return err
	}
	defer session.Close()
	// As upstream: a variable the server refuses (no AcceptEnv) fails the command; the previous outputs are
	// optional and only warn.
	for k, v := range stringMap(inputs, "environment") {
		if err := session.Setenv(k, v); err != nil {
			return fmt.Errorf("could not set environment variable %q: %w", k, err)
		}
	}
	for k, v := range prev {
		if err := session.Setenv(k, v); err != nil {
			warn(fmt.Sprintf("Unable to set '%s': the SSH server does not accept it (AcceptEnv)", k))
		}
	}
	if stdin := str(inputs, "stdin"); stdin != "" {
		session.Stdin = strings.NewReader(stdin)
	}
	session.Stdout, session.Stderr = out.stdoutW, out.stderrW
	if err := session.Run(script); err != nil {
		return commandError(err, script, out)
	}
	return nil
}
