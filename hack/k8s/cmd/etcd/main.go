// Command etcd is etcd's own server (go.etcd.io/etcd/server/v3/etcdmain), at
// the version that kube-apiserver v1.34's client libraries are built with, so
// that `make k8s` installs every control-plane binary the rehearsal starts
// from the Go module proxy alone.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
