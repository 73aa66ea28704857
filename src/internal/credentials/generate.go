// Package credentials makes an instance's secrets and the credentials a binding hands out.
package credentials

import (
	"crypto/rand"
	"math/big"
)

// alphabet holds the characters of generated secrets: letters and digits survive every URI,
// shell, env file and SQL identifier they end up in without quoting.
const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// Random returns a string of n characters drawn uniformly from [a-z0-9] with crypto/rand.
// 24 characters carry 124 bits. The ancestor derived passwords from the instance id (MD5), so
// anyone who saw the id could compute them.
func Random(n int) string {
	b := make([]byte, n)
	limit := big.NewInt(int64(len(alphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, limit)
		if err != nil {
			// crypto/rand does not fail on Linux; a broker that cannot make secrets must not go on.
			panic("crypto/rand: " + err.Error())
		}
		b[i] = alphabet[v.Int64()]
	}
	return string(b)
}

// Identifier returns a random name that is also a valid database and user name in every
// engine the broker runs: a letter first, then letters and digits.
func Identifier(n int) string {
	return "u" + Random(n-1)
}
