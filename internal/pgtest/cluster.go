// Package pgtest gives tests a real PostgreSQL database.
//
// When TEST_DATABASE_URL is set, tests use that server. Otherwise a
// throwaway cluster is started with initdb and pg_ctl from the PostgreSQL
// server binaries (run as a non-root user when the tests run as root),
// listening only on a unix socket, and removed afterwards. Either way each
// test package gets a database of its own, dropped when the package ends.
package pgtest

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Cluster is a throwaway PostgreSQL cluster in a directory of its own.
type Cluster struct {
	Dir  string // holds data/, sock/ and log
	Port int    // names the socket; the cluster does not listen on TCP
	bin  string
	as   string // user that runs the server ("" = the current user)
}

// StartCluster creates a cluster in dir (which must be empty or absent)
// and starts it.
func StartCluster(dir string) (*Cluster, error) {
	bin, err := findBinDir()
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, Port: 20000 + rand.IntN(30000), bin: bin}
	if os.Geteuid() == 0 {
		// initdb refuses to run as root.
		for _, name := range []string{"postgres", "nobody"} {
			if _, err := user.Lookup(name); err == nil {
				c.as = name
				break
			}
		}
		if c.as == "" {
			return nil, errors.New("pgtest: running as root and no 'postgres' or 'nobody' user to run the cluster")
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "sock"), 0o755); err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if c.as != "" {
		u, _ := user.Lookup(c.as)
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		for _, p := range []string{dir, filepath.Join(dir, "sock")} {
			if err := os.Chown(p, uid, gid); err != nil {
				return nil, fmt.Errorf("pgtest: chown %s: %w", p, err)
			}
		}
		// The user must be able to reach dir through its parents.
		for p := filepath.Dir(dir); p != "/" && p != "."; p = filepath.Dir(p) {
			if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o001 == 0 {
				_ = os.Chmod(p, st.Mode().Perm()|0o001)
			}
		}
	}
	if out, err := c.run("initdb", "-D", c.dataDir(), "-U", "postgres", "-A", "trust", "-E", "UTF8",
		"--locale=C.UTF-8", "--no-sync"); err != nil {
		return nil, fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}
	if err := c.Start(); err != nil {
		return nil, err
	}
	return c, nil
}

// Start starts the (stopped) cluster and waits until it accepts connections.
func (c *Cluster) Start() error {
	opts := fmt.Sprintf("-k %s -c listen_addresses='' -p %d -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
		filepath.Join(c.Dir, "sock"), c.Port)
	if out, err := c.run("pg_ctl", "-D", c.dataDir(), "-l", filepath.Join(c.Dir, "log"), "-w", "-o", opts, "start"); err != nil {
		return fmt.Errorf("pgtest: pg_ctl start: %w\n%s", err, out)
	}
	return nil
}

// Stop stops the cluster, disconnecting clients (in-flight queries are cut).
func (c *Cluster) Stop() error {
	if out, err := c.run("pg_ctl", "-D", c.dataDir(), "-w", "-m", "fast", "stop"); err != nil {
		return fmt.Errorf("pgtest: pg_ctl stop: %w\n%s", err, out)
	}
	return nil
}

// Remove stops the cluster and deletes its directory.
func (c *Cluster) Remove() error {
	err := c.Stop()
	if rmErr := os.RemoveAll(c.Dir); err == nil {
		err = rmErr
	}
	return err
}

// URL is the connection URL of database db in the cluster.
func (c *Cluster) URL(db string) string {
	q := url.Values{"host": {filepath.Join(c.Dir, "sock")}, "port": {strconv.Itoa(c.Port)}, "sslmode": {"disable"}}
	return "postgres://postgres@/" + db + "?" + q.Encode()
}

func (c *Cluster) dataDir() string { return filepath.Join(c.Dir, "data") }

func (c *Cluster) run(tool string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, tool)
	var cmd *exec.Cmd
	if c.as != "" {
		cmd = exec.Command("runuser", append([]string{"-u", c.as, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = c.Dir
	return cmd.CombinedOutput()
}

// findBinDir finds the PostgreSQL server binaries: $PG_BIN, the newest
// /usr/lib/postgresql/*/bin, or initdb on $PATH.
func findBinDir() (string, error) {
	if d := os.Getenv("PG_BIN"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("pgtest: PostgreSQL server binaries (initdb, pg_ctl) not found: install them (Debian: apt-get install postgresql) or set TEST_DATABASE_URL")
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// CreateDatabase creates database name on the server at adminURL and
// returns its URL.
func CreateDatabase(adminURL, name string) (string, error) {
	db, err := sql.Open("pgx", adminURL)
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + quoteIdent(name)); err != nil {
		return "", fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	return withDatabase(adminURL, name)
}

// DropDatabase drops database name, closing its connections.
func DropDatabase(adminURL, name string) error {
	db, err := sql.Open("pgx", adminURL)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec("DROP DATABASE IF EXISTS " + quoteIdent(name) + " WITH (FORCE)")
	return err
}

func withDatabase(rawURL, name string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("pgtest: parse database url: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

type clusterState struct {
	Dir  string
	Port int
	Bin  string
	As   string
}

// MarshalJSON records what LoadCluster needs to stop the cluster later.
func (c *Cluster) MarshalJSON() ([]byte, error) {
	return json.Marshal(clusterState{c.Dir, c.Port, c.bin, c.as})
}

// LoadCluster reads a cluster recorded by MarshalJSON.
func LoadCluster(path string) (*Cluster, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	var s clusterState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("pgtest: %s: %w", path, err)
	}
	return &Cluster{Dir: s.Dir, Port: s.Port, bin: s.Bin, as: s.As}, nil
}
