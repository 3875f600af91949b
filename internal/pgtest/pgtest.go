package pgtest

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

var (
	mu       sync.Mutex
	pkgURL   string
	adminURL string
)

// Main runs a test package with a database of its own. Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// A failure to get a database fails the package; it never skips.
func Main(m *testing.M) int {
	admin := os.Getenv("TEST_DATABASE_URL")
	var cluster *Cluster
	if admin == "" {
		dir, err := os.MkdirTemp("", "mastra-pgtest-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
			return 1
		}
		cluster, err = StartCluster(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.RemoveAll(dir)
			return 1
		}
		defer cluster.Remove()
		admin = cluster.URL("postgres")
	}
	name := fmt.Sprintf("mastra_test_%d_%d", os.Getpid(), time.Now().UnixNano()%1_000_000)
	u, err := CreateDatabase(admin, name)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	mu.Lock()
	pkgURL, adminURL = u, admin
	mu.Unlock()
	code := m.Run()
	if err := DropDatabase(admin, name); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest: drop database:", err)
	}
	return code
}

// URL is the package's database URL. It fails the test when Main did not run.
func URL(t testing.TB) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if pkgURL == "" {
		t.Fatal("pgtest: no database: call pgtest.Main from TestMain")
	}
	return pkgURL
}

// NewDatabase creates one more database for a single test, dropped at its end.
func NewDatabase(t testing.TB) string {
	t.Helper()
	mu.Lock()
	admin := adminURL
	mu.Unlock()
	if admin == "" {
		t.Fatal("pgtest: no server: call pgtest.Main from TestMain")
	}
	name := fmt.Sprintf("mastra_test_%d_%d", os.Getpid(), time.Now().UnixNano()%1_000_000_000)
	u, err := CreateDatabase(admin, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = DropDatabase(admin, name) })
	return u
}
