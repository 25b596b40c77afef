// A loopback S3-compatible server for infergraph's tests: gofakes3 (MIT) with its in-memory backend.
// Built and started by scripts/s3/server.mjs; never a production store.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

const version = "infergraph-s3 gofakes3-v1.2.0"

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "loopback address to listen on (port 0: any free port)")
	buckets := flag.String("buckets", "", "comma-separated buckets to create at start")
	watchParent := flag.Bool("watch-parent", false, "exit when the process that started this one exits")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version)
		return
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		fail("bad -listen %q: %v", *listen, err)
	}
	// A test server without authentication: never on anything but loopback.
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		fail("-listen %q is not a loopback address", *listen)
	}
	backend := s3mem.New()
	for _, b := range strings.Split(*buckets, ",") {
		if b = strings.TrimSpace(b); b != "" {
			if err := backend.CreateBucket(b); err != nil {
				fail("create bucket %q: %v", b, err)
			}
		}
	}
	faker := gofakes3.New(backend)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fail("listen %s: %v", *listen, err)
	}
	server := &http.Server{Handler: faker.Server(), ReadHeaderTimeout: 10 * time.Second}
	// The line the starter waits for.
	fmt.Printf("listening http://%s\n", ln.Addr().String())

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	if *watchParent {
		// Started by a test: leave with it, so that no server outlives its run.
		parent := os.Getppid()
		go func() {
			for os.Getppid() == parent {
				time.Sleep(time.Second)
			}
			stop <- syscall.SIGTERM
		}()
	}
	go func() {
		<-stop
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = server.Shutdown(ctx)
	}()
	if err := server.Serve(ln); err != nil && err != http.ErrServerClosed {
		fail("serve: %v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "infergraph-s3: "+format+"\n", args...)
	os.Exit(1)
}
