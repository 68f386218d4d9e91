// Command anchor runs a Stellar fiat anchor: stellar.toml, SEP-10 web auth and the tools around them.
package main

import (
	"os"

	"github.com/anchorkit/anchor/cmd"
)

func main() { os.Exit(cmd.Main()) }
