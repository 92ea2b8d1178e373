package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/retry"
)

// Defaults of the upstream connection schema (provider/pkg/provider/remote/connection.go at v1.2.1).
const (
	defaultDialErrorLimit = 10
	defaultPerDialTimeout = 15
)

// connection is the `connection` input of a remote command.
type connection struct {
	host, user, privateKey, privateKeyPassword, password, agentSocketPath, hostKey string
	port, dialErrorLimit, perDialTimeout                                          int
}

func number(c map[string]any, key string, fallback int) int {
	if v, ok := c[key].(float64); ok {
		return int(v)
	}
	return fallback
}

func text(c map[string]any, key string) string {
	s, _ := c[key].(string)
	return s
}

func parseConnection(c map[string]any) connection {
	user := text(c, "user")
	if user == "" {
		user = "root"
	}
	return connection{
		host:               text(c, "host"),
		user:               user,
		privateKey:         text(c, "privateKey"),
		privateKeyPassword: text(c, "privateKeyPassword"),
		password:           text(c, "password"),
		agentSocketPath:    text(c, "agentSocketPath"),
		hostKey:            text(c, "hostKey"),
		port:               number(c, "port", 22),
		dialErrorLimit:     number(c, "dialErrorLimit", defaultDialErrorLimit),
		perDialTimeout:     number(c, "perDialTimeout", defaultPerDialTimeout),
	}
}

func (c connection) address() string { return net.JoinHostPort(c.host, strconv.Itoa(c.port)) }

// clientConfig: key, password and agent authentication as upstream; the host key is checked when hostKey is set
// (an authorized_keys line such as "ssh-ed25519 AAAA..."), and ignored otherwise.
func (c connection) clientConfig() (*ssh.ClientConfig, error) {
	config := &ssh.ClientConfig{
		User:            c.user,
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), //nolint:gosec // as upstream when no hostKey is given
		Timeout:         time.Duration(c.perDialTimeout) * time.Second,
	}
	if c.hostKey != "" {
		key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(c.hostKey))
		if err != nil {
			return nil, fmt.Errorf("parsing hostKey: %w", err)
		}
		config.HostKeyCallback = ssh.FixedHostKey(key)
	}
	if c.privateKey != "" {
		var signer ssh.Signer
		var err error
		if c.privateKeyPassword != "" {
			signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(c.privateKey), []byte(c.privateKeyPassword))
		} else {
			signer, err = ssh.ParsePrivateKey([]byte(c.privateKey))
		}
		if err != nil {
			return nil, err
		}
		config.Auth = append(config.Auth, ssh.PublicKeys(signer))
	}
	if c.password != "" {
		password := c.password
		config.Auth = append(config.Auth, ssh.Password(password), ssh.KeyboardInteractive(
			func(_, _ string, questions []string, _ []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range answers {
					answers[i] = password
				}
				return answers, nil
			}))
	}
	socket := c.agentSocketPath
	if socket == "" {
		socket = os.Getenv("SSH_AUTH_SOCK")
	}
	if socket != "" {
		conn, err := net.Dial("unix", socket)
		if err != nil {
			return nil, err
		}
		config.Auth = append(config.Auth, ssh.PublicKeysCallback(agent.NewClient(conn).Signers))
	}
	return config, nil
}

// retryer waits between dials; tests replace its clock.
var retryer = retry.Retryer{}

// dialWithRetry makes limit+1 attempts (limit -1: without end), waiting 0.1 s after the first failure and 1.5
// times longer after each next one, at most 5 s: retry.Until's defaults, as upstream uses them. The error, as
// upstream's: "after N failed attempts: <the last dial error>".
func dialWithRetry[T any](ctx context.Context, limit int, status func(string), dial func() (T, error)) (T, error) {
	var last error
	ok, data, err := retryer.Until(ctx, retry.Acceptor{
		Accept: func(try int, _ time.Duration) (bool, any, error) {
			result, err := dial()
			if err == nil {
				return true, result, nil
			}
			last = err
			dials := try + 1
			if limit > -1 && dials > limit {
				return true, nil, fmt.Errorf("after %d failed attempts: %w", try, last)
			}
			max := "inf"
			if limit > -1 {
				max = strconv.Itoa(limit)
			}
			status(fmt.Sprintf("Dial %d/%s failed: retrying", dials, max))
			return false, nil, nil
		},
	})
	if ok && err == nil {
		return data.(T), nil
	}
	var zero T
	if err == nil {
		err = ctx.Err()
	}
	return zero, err
}

func (c connection) dial(ctx context.Context, status func(string)) (*ssh.Client, error) {
	config, err := c.clientConfig()
	if err != nil {
		return nil, err
	}
	return dialWithRetry(ctx, c.dialErrorLimit, status, func() (*ssh.Client, error) {
		return ssh.Dial("tcp", c.address(), config)
	})
}
