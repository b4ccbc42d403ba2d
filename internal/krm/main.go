package krm

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/kptdev/krm-functions-sdk/go/fn"
)

// Main runs a function as a program: ResourceList on stdin, ResourceList on
// stdout, warnings and errors on stderr, exit code 1 on failure.
func Main(name string, p fn.ResourceListProcessor) {
	os.Exit(MainIO(name, p, os.Stdin, os.Stdout, os.Stderr))
}

// largeInput is the input size above which MainIO trades time for memory.
const largeInput = 8 << 20

// MainIO is Main with explicit streams; it returns the exit code.
func MainIO(name string, p fn.ResourceListProcessor, stdin io.Reader, stdout, stderr io.Writer) int {
	in, err := readAll(stdin)
	if err != nil {
		fmt.Fprintf(stderr, "%s: reading stdin: %v\n", name, err)
		return 1
	}
	if len(in) > largeInput && os.Getenv("GOGC") == "" {
		// A parsed object takes about 20 times its text. With Go's default
		// (GOGC=100) the heap may grow to twice what is live before a
		// collection; on a large input that doubling is gigabytes, the
		// difference between fitting in an Argo CD repo-server's memory
		// limit or not. Collect more often instead (measured on a 50 MB
		// input: peak RSS 63x -> 41x the input, for about 1.5x the time).
		debug.SetGCPercent(25)
	}
	w := bufio.NewWriterSize(stdout, 64<<10)
	results, ok := RunTo(p, in, w)
	if err := w.Flush(); err != nil {
		fmt.Fprintf(stderr, "%s: writing stdout: %v\n", name, err)
		return 1
	}
	var buf bytes.Buffer
	for _, r := range results {
		if r.Severity == fn.Error || r.Severity == fn.Warning {
			fmt.Fprintf(&buf, "%s: %s\n", name, strings.TrimSpace(r.String()))
		}
	}
	_, _ = stderr.Write(buf.Bytes())
	if !ok {
		return 1
	}
	return 0
}
