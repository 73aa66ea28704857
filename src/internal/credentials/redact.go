package credentials

import "strings"

// Redact replaces every secret in text (a command's or a container's output) with
// "[redacted]", so that the text may reach a log or an operator's screen.
func Redact(text string, secrets ...string) string {
	for _, s := range secrets {
		if len(s) >= 4 { // shorter values (a fixed "pg" username) would blank out ordinary words
			text = strings.ReplaceAll(text, s, "[redacted]")
		}
	}
	return text
}
