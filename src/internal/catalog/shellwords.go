package catalog

import (
	"errors"
	"fmt"
	"strings"
)

// splitWords splits a command line into words the way a POSIX shell splits a simple command:
// blanks separate words; single quotes keep everything literally; double quotes keep everything
// but a backslash before $ ` " \ or a newline; outside quotes a backslash keeps the next
// character (and joins lines). Nothing is expanded and no character is an operator: the words
// go to Docker as they are, so `--save '900 1'` is two words, not three. The ancestor split on
// spaces, which made such arguments impossible.
func splitWords(line string) ([]string, error) {
	var words []string
	var word strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		switch c := line[i]; c {
		case ' ', '\t', '\n', '\r':
			if inWord {
				words = append(words, word.String())
				word.Reset()
				inWord = false
			}
		case '\\':
			if i+1 == len(line) {
				return nil, errors.New("ends with a backslash that escapes nothing")
			}
			i++
			if line[i] != '\n' {
				word.WriteByte(line[i])
				inWord = true
			}
		case '\'':
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("the single quote at character %d is never closed", i+1)
			}
			word.WriteString(line[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case '"':
			end, err := readDoubleQuoted(line, i, &word)
			if err != nil {
				return nil, err
			}
			i = end
			inWord = true
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, word.String())
	}
	return words, nil
}

// readDoubleQuoted appends to word the text of the double-quoted string opening at line[open]
// and returns the index of its closing quote.
func readDoubleQuoted(line string, open int, word *strings.Builder) (int, error) {
	for i := open + 1; i < len(line); i++ {
		switch c := line[i]; {
		case c == '"':
			return i, nil
		case c == '\\' && i+1 < len(line) && strings.IndexByte("$`\"\\\n", line[i+1]) >= 0:
			i++
			if line[i] != '\n' {
				word.WriteByte(line[i])
			}
		default:
			word.WriteByte(c)
		}
	}
	return 0, fmt.Errorf("the double quote at character %d is never closed", open+1)
}

// words reads a command written either as one string, split like a shell would, or as a list
// of words taken as they are. Absent or empty means the image's default.
func (o *object) words(key string) []string {
	raw, ok := o.value(key)
	if !ok {
		return nil
	}
	if isList(raw) {
		return o.strs(key)
	}
	line, ok := o.r.stringAt(o.at(key), raw)
	if !ok {
		return nil
	}
	words, err := splitWords(line)
	if err != nil {
		o.r.problem(o.at(key), "%q: %v", line, err)
		return nil
	}
	return words
}
