package cmd

import (
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/anchorkit/anchor/internal/iostreams"
)

// TestTypoUnderEveryGroupExits2: a mistyped subcommand under any group (and at the top) exits
// 2 with a "did you mean" suggestion, never the group's help with exit 0.
func TestTypoUnderEveryGroupExits2(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	var groups []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasAvailableSubCommands() {
			groups = append(groups, c)
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(NewRootCmd(&Factory{IO: ios}))
	if len(groups) < 5 {
		t.Fatalf("only %d command groups found", len(groups))
	}
	for _, g := range groups {
		var sub string
		for _, s := range g.Commands() {
			if s.IsAvailableCommand() && len(s.Name()) > 3 {
				sub = s.Name()
				break
			}
		}
		if sub == "" {
			continue
		}
		typo := sub[:1] + sub[2:] // "approve" → "aprove"
		path := strings.Fields(g.CommandPath())[1:]
		t.Run(strings.Join(append(path, typo), " "), func(t *testing.T) {
			out, stderr, code := runCLI(t, context.Background(), nil, append(path, typo)...)
			if code != 2 || !strings.Contains(stderr, "did you mean") || !strings.Contains(stderr, sub) || out != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want 2 and a suggestion of %q", code, out, stderr, sub)
			}
		})
	}
}
