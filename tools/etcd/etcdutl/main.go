// Command etcdutl is the upstream etcdutl (offline snapshot restore, defrag, hashkv), pinned with
// the server in ../go.mod. Upstream's main package cannot be imported, so this rebuilds its root
// command from the exported subcommands; drill's etcd-restore-cluster step runs
// `etcdutl snapshot restore`.
package main

import (
	"github.com/spf13/cobra"

	"go.etcd.io/etcd/etcdutl/v3/etcdutl"
	"go.etcd.io/etcd/pkg/v3/cobrautl"
)

func main() {
	root := &cobra.Command{
		Use:   "etcdutl",
		Short: "An administrative command line tool for etcd3.",
	}
	root.PersistentFlags().StringVarP(&etcdutl.OutputFormat, "write-out", "w", "simple", "set the output format (fields, json, protobuf, simple, table)")
	root.AddCommand(
		etcdutl.NewDefragCommand(),
		etcdutl.NewSnapshotCommand(),
		etcdutl.NewHashKVCommand(),
		etcdutl.NewVersionCommand(),
		etcdutl.NewMigrateCommand(),
	)
	root.SetHelpTemplate(`{{.UsageString}}`)
	if err := root.Execute(); err != nil {
		cobrautl.ExitWithError(cobrautl.ExitError, err)
	}
}
