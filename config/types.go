package config

import (
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
)

// Secret is a string that never shows up in logs or printed configuration.
// Use string(s) where the value itself is needed.
type Secret string

const redacted = "<redacted>"

// String returns a redacted form: empty stays empty; a URL keeps everything
// but its password; anything else becomes "<redacted>".
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	if u, err := url.Parse(string(s)); err == nil && u.Scheme != "" && u.Host != "" {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	return redacted
}

// LogValue implements slog.LogValuer so a Secret logs redacted.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText implements encoding.TextMarshaler, redacted.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ByteSize is a size in bytes, written in TOML as an integer or a string
// with a unit: "4.5MiB", "64KiB", "1MB", "512".
type ByteSize int64

var byteUnits = []struct {
	suffix string
	mult   float64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30},
	{"b", 1},
}

// ParseByteSize parses a size such as "4.5MiB".
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := 1.0
	for _, u := range byteUnits {
		if strings.HasSuffix(t, u.suffix) {
			t = strings.TrimSpace(strings.TrimSuffix(t, u.suffix))
			mult = u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("%q is not a size (use bytes or a unit: KiB, MiB, GiB, KB, MB, GB)", s)
	}
	return ByteSize(f * mult), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (b *ByteSize) UnmarshalText(text []byte) error {
	v, err := ParseByteSize(string(text))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// String formats the size with the largest binary unit that divides it.
func (b ByteSize) String() string {
	switch {
	case b >= 1<<30 && b%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", b>>30)
	case b >= 1<<20 && b%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", b>>20)
	case b >= 1<<10 && b%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", b>>10)
	case b >= 1<<20:
		return strconv.FormatFloat(float64(b)/(1<<20), 'f', -1, 64) + "MiB"
	}
	return strconv.FormatInt(int64(b), 10)
}

// MarshalText implements encoding.TextMarshaler.
func (b ByteSize) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// Mount is a host directory granted to a plugin, written in TOML as
// "host_dir:/guest_dir" with an optional ":ro" (the default) or ":rw".
// It is parsed once, when the configuration is read.
type Mount struct {
	// Host is the directory on the host; a relative path is resolved
	// against the configuration file's directory when the file is read.
	Host string
	// Guest is where the plugin sees it, an absolute path.
	Guest    string
	ReadOnly bool
}

// ParseMount parses "host_dir:/guest_dir[:ro|:rw]".
func ParseMount(s string) (Mount, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || !strings.HasPrefix(parts[1], "/") ||
		(len(parts) == 3 && parts[2] != "ro" && parts[2] != "rw") {
		return Mount{}, fmt.Errorf("%q is not a mount (expected \"host_dir:/guest_dir\" with an optional \":ro\" or \":rw\")", s)
	}
	return Mount{Host: parts[0], Guest: parts[1], ReadOnly: len(parts) < 3 || parts[2] == "ro"}, nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *Mount) UnmarshalText(text []byte) error {
	v, err := ParseMount(string(text))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// String returns the TOML spelling, mode included.
func (m Mount) String() string {
	mode := "rw"
	if m.ReadOnly {
		mode = "ro"
	}
	return m.Host + ":" + m.Guest + ":" + mode
}

// MarshalText implements encoding.TextMarshaler.
func (m Mount) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// ModelList is an agent's model reference, or several: the first answers,
// the others are its fallbacks. TOML takes a string or a list of strings;
// the environment a comma-separated list.
type ModelList []string

// Primary returns the first model reference, "" when there is none.
func (m ModelList) Primary() string {
	if len(m) == 0 {
		return ""
	}
	return m[0]
}
