package catalog

import (
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	for text, want := range map[string]int64{
		"512":                 512,
		"0":                   0,
		"-1":                  -1,
		"100b":                100,
		"64k":                 64 << 10,
		"128m":                128 << 20,
		"128M":                128 << 20,
		"1g":                  1073741824, // the ancestor's 1014*1024 made this about 1 MB
		"2G":                  2 << 30,
		" 256m ":              256 << 20,
		"8589934592":          8 << 30,
		"9223372036854775807": 1<<63 - 1,
	} {
		if got, err := parseSize(text); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", text, got, err, want)
		}
	}
	for text, fragment := range map[string]string{
		"1x":                   `"1x": unknown unit, use b, k, m or g`,
		"12mb":                 "unknown unit",
		"1.5g":                 "whole number",
		"g":                    "not a size",
		"":                     "not a size",
		"-":                    "not a size",
		"1-2m":                 "not a size",
		"9999999999g":          "too large",
		"99999999999999999999": "too large",
	} {
		if _, err := parseSize(text); err == nil || !strings.Contains(err.Error(), fragment) {
			t.Errorf("parseSize(%q): error %v, want ...%s...", text, err, fragment)
		}
	}
}

func TestParsePort(t *testing.T) {
	for text, want := range map[string]string{
		"6379":     "6379/tcp",
		"6379/tcp": "6379/tcp",
		"53/UDP":   "53/udp",
		"9/sctp":   "9/sctp",
		"65535":    "65535/tcp",
		" 080 ":    "80/tcp",
	} {
		if got, err := parsePort(text); err != nil || got != want {
			t.Errorf("parsePort(%q) = %q, %v; want %q", text, got, err, want)
		}
	}
	for text, fragment := range map[string]string{
		"70000/tcp": "1 to 65535",
		"0":         "1 to 65535",
		"http":      "1 to 65535",
		"80/icmp":   `unknown protocol "icmp"`,
		"80/":       "unknown protocol",
	} {
		if _, err := parsePort(text); err == nil || !strings.Contains(err.Error(), fragment) {
			t.Errorf("parsePort(%q): error %v, want ...%s...", text, err, fragment)
		}
	}
}
