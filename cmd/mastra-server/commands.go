package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// options are the flags of all subcommands; each subcommand declares only
// the ones it reads.
type options struct {
	configPath, envFile string
	watch               bool
	noMigrate           bool
}

// command is one subcommand: its name, a line for the command list, and
// the flags it takes.
type command struct {
	name, summary string
	flags         func(fs *flag.FlagSet, o *options)
}

func configFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.configPath, "config", "", "configuration file (default ./mastra.toml when present)")
	fs.StringVar(&o.envFile, "env-file", "", "environment file; its variables never override the real environment (default ./.env when present)")
}

func serveFlags(fs *flag.FlagSet, o *options) {
	configFlags(fs, o)
	fs.BoolVar(&o.watch, "watch", false, "reload a plugin when its .wasm file changes (development)")
	fs.BoolVar(&o.noMigrate, "no-migrate", false, "do not migrate the database at start (run 'mastra-server migrate' first); refuse to start on a database with pending migrations")
}

func noFlags(*flag.FlagSet, *options) {}

// commands in the order help lists them.
var commands = []command{
	{"serve", "run the server (the default when no command is given)", serveFlags},
	{"dev", "serve with /playground on, reloading plugins when their .wasm changes", configFlags},
	{"migrate", "apply database migrations and exit", configFlags},
	{"config", "print the effective configuration, secrets redacted", configFlags},
	{"validate", "check the configuration, plugins and database, then exit", configFlags},
	{"healthcheck", "GET /health on the configured port: exit 0 on 200, else 1", configFlags},
	{"version", "print the version and VCS revision of this build", noFlags},
	{"help", "list the commands, or show one command's flags: help <command>", noFlags},
}

func findCommand(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// parseCommand splits args into a subcommand and its options. helped is
// true when help was asked for and written to stdout: the caller stops.
func parseCommand(args []string, stdout io.Writer) (cmd command, o options, rest []string, helped bool, err error) {
	name := "serve"
	if len(args) > 0 && isHelpFlag(args[0]) {
		writeUsage(stdout)
		return command{}, o, nil, true, nil
	}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	cmd, ok := findCommand(name)
	if !ok {
		return cmd, o, nil, false, usageErr(fmt.Errorf("unknown command %q; run 'mastra-server help' for the list", name))
	}
	fs := flag.NewFlagSet("mastra-server "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned; help goes to stdout
	cmd.flags(fs, &o)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			writeCommandUsage(stdout, cmd, fs)
			return cmd, o, nil, true, nil
		}
		return cmd, o, nil, false, usageErr(fmt.Errorf("%s: %w; run 'mastra-server %s --help' for its flags", name, err, name))
	}
	return cmd, o, fs.Args(), false, nil
}

func isHelpFlag(a string) bool { return a == "-h" || a == "-help" || a == "--help" }

// help is the help command: the list, or one command's flags.
func help(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		writeUsage(stdout)
		return nil
	}
	cmd, ok := findCommand(args[0])
	if !ok {
		return usageErr(fmt.Errorf("unknown command %q; run 'mastra-server help' for the list", args[0]))
	}
	fs := flag.NewFlagSet("mastra-server "+cmd.name, flag.ContinueOnError)
	cmd.flags(fs, &options{})
	writeCommandUsage(stdout, cmd, fs)
	return nil
}

func writeUsage(w io.Writer) {
	fmt.Fprintln(w, "mastra-server: a standalone agent API server.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: mastra-server [command] [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'mastra-server <command> --help' for the flags of one command.")
	fmt.Fprintln(w, "Exit codes: 0 success, 1 runtime failure, 2 bad usage or configuration.")
}

func writeCommandUsage(w io.Writer, cmd command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: mastra-server %s [flags]\n\n%s.\n", cmd.name, strings.ToUpper(cmd.summary[:1])+cmd.summary[1:])
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		fmt.Fprintln(w, "\nNo flags.")
		return
	}
	fmt.Fprintln(w, "\nFlags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
}
