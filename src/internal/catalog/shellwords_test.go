package catalog

import (
	"slices"
	"strings"
	"testing"
)

func TestSplitWords(t *testing.T) {
	tests := []struct {
		line string
		want []string
	}{
		{"", nil},
		{"  \t ", nil},
		{"--smallfiles --httpinterface", []string{"--smallfiles", "--httpinterface"}},
		{"--appendonly yes --save '900 1'", []string{"--appendonly", "yes", "--save", "900 1"}},
		{`--save "900 1"`, []string{"--save", "900 1"}},
		{`a\ b c`, []string{"a b", "c"}},
		{`'it''s'`, []string{"its"}},
		{`'a "b" \c'`, []string{`a "b" \c`}},
		{`"a \"b\" \\ \$HOME \c"`, []string{`a "b" \ $HOME \c`}},
		{`$HOME ~ * ; | &&`, []string{"$HOME", "~", "*", ";", "|", "&&"}},
		{`'' ""`, []string{"", ""}},
		{`pre'fix'"suffix"`, []string{"prefixsuffix"}},
		{"one\\\ntwo", []string{"onetwo"}},
		{"\"one\\\ntwo\"", []string{"onetwo"}},
		{"a\n b\r\nc", []string{"a", "b", "c"}},
		{`-c "echo key=value=more"`, []string{"-c", "echo key=value=more"}},
		{`--opt=a=b`, []string{"--opt=a=b"}},
		{`"héllo wörld"`, []string{"héllo wörld"}},
	}
	for _, tt := range tests {
		got, err := splitWords(tt.line)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("splitWords(%q) = %q, %v; want %q", tt.line, got, err, tt.want)
		}
	}
}

func TestSplitWordsRefusesUnclosedQuotes(t *testing.T) {
	for line, fragment := range map[string]string{
		"--save '900 1":  "single quote at character 8 is never closed",
		`--name "redis`:  "double quote at character 8 is never closed",
		`"escaped \"`:    "double quote at character 1 is never closed",
		`trailing\`:      "backslash",
		`'closed' "open`: "double quote at character 10",
		`"closed" 'open`: "single quote at character 10",
	} {
		if _, err := splitWords(line); err == nil || !strings.Contains(err.Error(), fragment) {
			t.Errorf("splitWords(%q): error %v, want ...%s...", line, err, fragment)
		}
	}
}
