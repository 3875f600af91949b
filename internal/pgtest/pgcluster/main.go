// Command pgcluster starts and stops a throwaway PostgreSQL cluster for a
// whole test run, so each test package only creates a database in it:
//
//	pgcluster start DIR   # prints the admin URL (for TEST_DATABASE_URL)
//	pgcluster stop DIR
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mastra-server/mastra-server/internal/pgtest"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: pgcluster start|stop DIR")
		os.Exit(2)
	}
	dir, _ := filepath.Abs(os.Args[2])
	state := filepath.Join(dir, "cluster.json")
	switch os.Args[1] {
	case "start":
		c, err := pgtest.StartCluster(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		b, _ := json.Marshal(c)
		_ = os.WriteFile(state, b, 0o644)
		fmt.Println(c.URL("postgres"))
	case "stop":
		c, err := pgtest.LoadCluster(state)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := c.Remove(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	default:
		fmt.Fprintln(os.Stderr, "usage: pgcluster start|stop DIR")
		os.Exit(2)
	}
}
