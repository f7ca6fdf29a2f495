package dynalite

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

func TestServeAndStop(t *testing.T) {
	var srv *Server
	t.Run("serve", func(t *testing.T) {
		srv = NewServer(t)
		out, err := srv.Client("us-west-2", "").ListTables(context.Background(), &dynamodb.ListTablesInput{})
		if err != nil {
			t.Fatalf("ListTables: %v (stderr: %s)", err, srv.Stderr())
		}
		if len(out.TableNames) != 0 {
			t.Fatalf("a new dynalite has tables: %v", out.TableNames)
		}
	})
	if srv == nil {
		return // skipped
	}
	select {
	case <-srv.done:
	case <-time.After(10 * time.Second):
		t.Fatal("dynalite still runs after its test ended")
	}
}

// recorder is a testing.TB that records Skipf and Fatalf instead of acting
// on its test.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Fatal(args ...any) {
	r.failed = fmt.Sprint(args...)
	runtime.Goexit()
}

func start1(t *testing.T, optFns ...func(*Options)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		NewServer(r, optFns...)
	}()
	<-done
	return r
}

func TestMissingModules(t *testing.T) {
	noModules := func(o *Options) { o.Dir = t.TempDir() }
	t.Setenv(RequireEnv, "")
	r := start1(t, noModules)
	if r.skipped == "" || r.failed != "" {
		t.Fatalf("without node_modules: skipped %q, failed %q; want a skip", r.skipped, r.failed)
	}
	t.Log(r.skipped)

	t.Setenv(RequireEnv, "1")
	r = start1(t, noModules)
	if r.failed == "" || r.skipped != "" {
		t.Fatalf("without node_modules and with %s set: skipped %q, failed %q; want a failure", RequireEnv, r.skipped, r.failed)
	}

	r = start1(t, func(o *Options) { o.Node = "/nonexistent/node" })
	if r.failed == "" {
		t.Fatal("a node that cannot start is not reported")
	}
}
