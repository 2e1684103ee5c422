// Command etcd is the upstream etcd server, built as a dependency of this small module because
// `go install go.etcd.io/etcd/server/v3@version` fails on the replace directives in etcd's own
// go.mod. The version is pinned in go.mod; `make etcd` writes the binary to ./bin/etcd.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
