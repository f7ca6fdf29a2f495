// Package dynalite runs dynalite, a third-party implementation of Amazon
// DynamoDB on LevelDB (the npm package of that name), for tests that check
// code, or package ddbtest itself, against a DynamoDB other than ddbtest.
//
// [NewServer] starts it in memory on a loopback port the system chooses,
// waits until it listens and stops it when the test ends:
//
//	srv := dynalite.NewServer(t)
//	client := srv.Client("us-west-2", "")
//
// It needs Node.js 20 or later on PATH and dynalite's npm packages, which
// this folder's package.json and package-lock.json pin:
//
//	npm ci --prefix kmsprovider/ddbtest/dynalite
//
// Without them the test is skipped with a message that says so, or fails
// when the environment variable ESDK_INTEROP_REQUIRE is set (as in CI), so
// that a green run cannot hide a test that did not run.
//
// dynalite implements CreateTable, DescribeTable, DeleteTable, ListTables,
// GetItem, PutItem, DeleteItem, UpdateItem, Query, Scan, BatchGetItem and
// BatchWriteItem, but not TransactWriteItems or TransactGetItems (it answers
// UnknownOperationException). Its table ARNs always name region us-east-1
// and account 000000000000, whatever the request's credentials say.
package dynalite

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// RequireEnv names the environment variable that turns the skips for a
// missing Node.js or missing npm packages into failures.
const RequireEnv = "ESDK_INTEROP_REQUIRE"

//go:embed serve.js
var serveJS string

// Options configure [NewServer].
type Options struct {
	// Dir is the folder whose node_modules hold dynalite. The default is
	// the folder of this package's source, which holds the package.json and
	// package-lock.json that pin it.
	Dir string
	// Node is the node binary. The default is "node" found on PATH.
	Node string
	// StartTimeout bounds the wait for dynalite to listen. The default is
	// 30 seconds.
	StartTimeout time.Duration
}

// A Server is a running dynalite.
type Server struct {
	// URL is the endpoint's base URL (http://127.0.0.1:port).
	URL string

	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *lockedBuffer
	done   chan struct{}
	once   sync.Once
}

// NewServer starts dynalite for the test t and stops it when t ends. It
// skips t (or fails it, when ESDK_INTEROP_REQUIRE is set) when Node.js or
// dynalite's npm packages are missing, and fails t when dynalite does not
// start.
func NewServer(t testing.TB, optFns ...func(*Options)) *Server {
	t.Helper()
	o := Options{}
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Dir == "" {
		_, file, _, ok := runtime.Caller(0)
		if !ok {
			t.Fatal("esdk/dynalite: cannot find the package's folder; set Options.Dir")
		}
		o.Dir = filepath.Dir(file)
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 30 * time.Second
	}
	skip := func(format string, args ...any) {
		t.Helper()
		if os.Getenv(RequireEnv) != "" {
			t.Fatalf(format+" (and %s is set)", append(args, RequireEnv)...)
		}
		t.Skipf(format, args...)
	}
	if o.Node == "" {
		node, err := exec.LookPath("node")
		if err != nil {
			skip("esdk/dynalite: node not found on PATH: install Node.js 20 or later to run the tests against dynalite")
		}
		o.Node = node
	}
	if _, err := os.Stat(filepath.Join(o.Dir, "node_modules", "dynalite", "package.json")); err != nil {
		skip("esdk/dynalite: %s has no node_modules/dynalite: run npm ci --prefix %s", o.Dir, o.Dir)
	}

	s, err := start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	return s
}

func start(o Options) (*Server, error) {
	cmd := exec.Command(o.Node, "-e", serveJS)
	cmd.Dir = o.Dir // require('dynalite') resolves from here
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s := &Server{cmd: cmd, stdin: stdin, stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("esdk/dynalite: starting %s: %w", o.Node, err)
	}
	go func() {
		cmd.Wait()
		close(s.done)
	}()

	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				port <- p
				break
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	timer := time.NewTimer(o.StartTimeout)
	defer timer.Stop()
	select {
	case p := <-port:
		s.URL = "http://127.0.0.1:" + p
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("esdk/dynalite: exited before listening: %s", s.stderr.String())
	case <-timer.C:
		s.stop()
		return nil, fmt.Errorf("esdk/dynalite: not listening after %v: %s", o.StartTimeout, s.stderr.String())
	}
}

// stop closes dynalite's standard input, which ends it, and kills it if it
// is still running five seconds later.
func (s *Server) stop() {
	s.once.Do(func() {
		s.stdin.Close()
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
		}
	})
}

// Config returns an aws.Config for a client of the server: BaseEndpoint at
// it, static dummy credentials (account "" means 111122223333; dynalite
// checks neither), and the SDK's standard retryer with its backoff capped
// at 10ms.
func (s *Server) Config(region, account string) aws.Config {
	if account == "" {
		account = "111122223333"
	}
	return aws.Config{
		Region:       region,
		BaseEndpoint: aws.String(s.URL),
		HTTPClient:   &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: account, SecretAccessKey: "dynalite", Source: "dynalite"}, nil
		}),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = 10 * time.Millisecond })
		},
	}
}

// Client returns a DynamoDB client built from [Server.Config].
func (s *Server) Client(region, account string, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	return dynamodb.NewFromConfig(s.Config(region, account), optFns...)
}

// Stderr returns what dynalite wrote to its standard error so far.
func (s *Server) Stderr() string { return s.stderr.String() }

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 1<<20 {
		return len(p), nil // keep the start, drop the rest
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
