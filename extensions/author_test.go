package extensions

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
)

func authorErr(msg string) Finding {
	return Finding{Severity: SeverityError, Stage: StageAuthor, Message: msg}
}
func authorWarn(msg string) Finding {
	return Finding{Severity: SeverityWarning, Stage: StageAuthor, Message: msg}
}

func TestVerifyAuthor(t *testing.T) {
	t.Parallel()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherPub, otherPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("await message.reply('hi');"))
	digest := hex.EncodeToString(sum[:])
	// The documented message: the hex digest's ASCII bytes, nothing else.
	signed := ed25519.Sign(priv, []byte(digest))
	if !slices.Equal(SignatureMessage(digest), []byte(digest)) {
		t.Fatal("SignatureMessage is not the hex digest's bytes")
	}
	overRaw := ed25519.Sign(priv, sum[:])                  // the raw digest, not the hex string
	overNewline := ed25519.Sign(priv, []byte(digest+"\n")) // sha256sum-style line
	byOther := ed25519.Sign(otherPriv, []byte(digest))
	tampered := slices.Clone(signed)
	tampered[0] ^= 1

	const (
		notOwner   = "this extension name belongs to another author; only its owner can submit versions of it"
		unsigned   = "the package is not signed, but the author registered a signing key: sign the package's sha256 with it"
		badSig     = "the package signature does not verify with the author's registered key"
		signedNoKy = "signed, but the author registered no key"
	)
	cases := []struct {
		name             string
		owner, submitter string
		digest           string
		sig              []byte
		key              ed25519.PublicKey
		want             []Finding
	}{
		{"a new name", "", "u1", digest, nil, nil, nil},
		{"the owner", "u1", "u1", digest, nil, nil, nil},
		{"someone else", "u1", "u2", digest, nil, nil, []Finding{authorErr(notOwner)}},
		{"no submitter", "", "", digest, nil, nil, []Finding{authorErr("the submission names no submitter")}},
		{"signed with the registered key", "u1", "u1", digest, signed, pub, nil},
		{"a key but no signature", "u1", "u1", digest, nil, pub, []Finding{authorErr(unsigned)}},
		{"signed by another key", "u1", "u1", digest, byOther, pub, []Finding{authorErr(badSig)}},
		{"a tampered signature", "u1", "u1", digest, tampered, pub, []Finding{authorErr(badSig)}},
		{"signed over the raw digest", "u1", "u1", digest, overRaw, pub, []Finding{authorErr(badSig)}},
		{"signed over the digest and a newline", "u1", "u1", digest, overNewline, pub, []Finding{authorErr(badSig)}},
		{"a short signature", "u1", "u1", digest, signed[:10], pub, []Finding{authorErr(badSig)}},
		{"signed for another package", "u1", "u1", strings.Repeat("0", 64), signed, pub, []Finding{authorErr(badSig)}},
		{"signed, no key registered", "u1", "u1", digest, signed, nil, []Finding{authorWarn(signedNoKy)}},
		{"an empty registered key is no key", "u1", "u1", digest, signed, ed25519.PublicKey{}, []Finding{authorWarn(signedNoKy)}},
		{"a registered key of the wrong size", "u1", "u1", digest, signed, pub[:16], []Finding{
			authorErr("the author's registered signing key is not an ed25519 public key (16 bytes, not 32)")}},
		{"an upper-case digest", "u1", "u1", strings.ToUpper(digest), signed, pub, []Finding{
			authorErr(`the package digest "` + strings.ToUpper(digest) + `" is not a lower-case hex SHA-256`)}},
		{"both wrong", "u1", "u2", digest, byOther, pub, []Finding{authorErr(notOwner), authorErr(badSig)}},
		{"the other key verifies its own signature", "u1", "u1", digest, byOther, otherPub, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := VerifyAuthor(tc.owner, tc.submitter, tc.digest, tc.sig, tc.key)
			if !slices.Equal(got, tc.want) {
				t.Errorf("VerifyAuthor:\n got  %s\n want %s", showFindings(got), showFindings(tc.want))
			}
		})
	}
}
