package main

import (
	"runtime/debug"
	"strings"
)

// revision is the VCS revision, for builds Go cannot stamp itself (a git
// worktree, a Docker build context without .git): scripts/build-image.sh and
// the Dockerfile set it with -ldflags "-X main.revision=…".
var revision = ""

// versionString names the build: the version (-X main.version, else the
// module version Go recorded) and the VCS revision, so an operator can tell
// which commit a running image holds.
func versionString() string {
	v, rev, goVersion := version, revision, ""
	modified := false
	if info, ok := debug.ReadBuildInfo(); ok {
		goVersion = info.GoVersion
		if v == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision" && rev == "":
				rev = s.Value
			case s.Key == "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if rev == "" {
		rev = "unknown"
	}
	if modified && !strings.HasSuffix(rev, "-dirty") {
		rev += "-dirty"
	}
	out := "mastra-server " + v + " (revision " + rev + ")"
	if goVersion != "" {
		out += " " + goVersion
	}
	return out
}
