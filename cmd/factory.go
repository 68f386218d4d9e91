package cmd

import (
	"os"

	"github.com/spf13/pflag"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/iostreams"
)

// Factory holds what commands share, built lazily so that a command pays only for what it uses.
type Factory struct {
	IO *iostreams.IOStreams
	// ConfigFile is the --config value; ConfigExplicit says whether the user gave it.
	ConfigFile     string
	ConfigExplicit bool
	// LookupEnv reads the environment (os.LookupEnv outside tests).
	LookupEnv func(string) (string, bool)
}

// NewFactory returns a Factory on the process's streams and environment.
func NewFactory() *Factory {
	return &Factory{IO: iostreams.System(), LookupEnv: os.LookupEnv}
}

// Config loads and validates the configuration; flags maps config keys to overriding flags.
func (f *Factory) Config(flags map[string]*pflag.Flag) (*config.Config, error) {
	return config.Load(f.loadOptions(flags))
}

// RawConfig loads the configuration without validating it.
func (f *Factory) RawConfig(flags map[string]*pflag.Flag) (*config.Config, error) {
	return config.Read(f.loadOptions(flags))
}

func (f *Factory) loadOptions(flags map[string]*pflag.Flag) config.LoadOptions {
	file, explicit := f.ConfigFile, f.ConfigExplicit
	if !explicit {
		if v, ok := f.LookupEnv("ANCHOR_CONFIG"); ok && v != "" {
			file, explicit = v, true
		}
	}
	if file == "" {
		file = "anchor.yaml"
	}
	return config.LoadOptions{File: file, Explicit: explicit, Flags: flags, LookupEnv: f.LookupEnv}
}
