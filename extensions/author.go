package extensions

import "crypto/ed25519"

// Package signatures. A publisher who registered an ed25519 key signs
// each version's code digest:
//
//	message   = the 64 ASCII bytes of the code's SHA-256 in lower-case hex
//	            (the .skypkg "sha256" field, e.g. "9f86d0…0a08"), nothing else:
//	            no newline, no name, no version
//	signature = ed25519.Sign(privateKey, message), 64 bytes (the .skypkg
//	            "signature" field, base64 in JSON)
//
// Signing the hex string rather than the 32 raw digest bytes lets an author
// check what they sign by eye against sha256sum's output.

// SignatureMessage is the exact message a package signature signs: the
// hex SHA-256 of the code, as bytes.
func SignatureMessage(pkgSHA256 string) []byte { return []byte(pkgSHA256) }

// VerifyAuthor is the publication pipeline's author check. owner is the
// extension name's owner ("" for a name nobody owns yet: the submitter
// becomes its owner), submitter who submits. When the submitter registered
// a signing key (publicKey not empty), signature must be their ed25519
// signature of SignatureMessage(pkgSHA256); a signature without a
// registered key proves nothing and is only a warning.
func VerifyAuthor(owner string, submitter string, pkgSHA256 string, signature []byte, publicKey ed25519.PublicKey) []Finding {
	var out []Finding
	refuse := func(format string, args ...any) {
		out = append(out, makeFinding(StageAuthor, SeverityError, 0, format, args...))
	}
	switch {
	case submitter == "":
		refuse("the submission names no submitter")
	case owner != "" && submitter != owner:
		refuse("this extension name belongs to another author; only its owner can submit versions of it")
	}
	if !isSHA256Hex(pkgSHA256) {
		refuse("the package digest %q is not a lower-case hex SHA-256", pkgSHA256)
		return out
	}
	switch {
	case len(publicKey) == 0:
		if len(signature) > 0 {
			out = append(out, makeFinding(StageAuthor, SeverityWarning, 0, "signed, but the author registered no key"))
		}
	case len(publicKey) != ed25519.PublicKeySize:
		refuse("the author's registered signing key is not an ed25519 public key (%d bytes, not %d)", len(publicKey), ed25519.PublicKeySize)
	case len(signature) == 0:
		refuse("the package is not signed, but the author registered a signing key: sign the package's sha256 with it")
	case len(signature) != ed25519.SignatureSize || !ed25519.Verify(publicKey, SignatureMessage(pkgSHA256), signature):
		refuse("the package signature does not verify with the author's registered key")
	}
	return out
}

// isSHA256Hex reports whether s is a SHA-256 digest as sha256Hex writes
// it: 64 lower-case hex digits.
func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
