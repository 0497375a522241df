package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/skyext/skybot/extensions"
)

const extPackUsage = `Usage: skybot ext pack <file.skyext|dir> [-o OUT] [--key KEYFILE]

Validates the extension (as skybot ext validate does; errors stop it) and
writes it as a 2.0 .skypkg: its manifest, code, md5 and sha256. A directory
must hold exactly one .skyext. With --key, the package is signed: an
ed25519 signature over the hex sha256 of the code, by the private key in
KEYFILE (base64 of a 32-byte seed or a 64-byte key, as skybot ext keygen
writes it). The package is written to OUT, by default <name>.skypkg in the
current directory.
`

const extKeygenUsage = `Usage: skybot ext keygen <OUT>

Writes a new ed25519 key pair for signing packages: the private key to OUT
(base64 of its 32-byte seed, readable only by you) and the public key to
OUT.pub (base64), which reviewers pass to skybot ext validate --pub.
Existing files are never overwritten.
`

func extPackCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newExtFlags("pack", extPackUsage)
	out := fs.String("o", "", "write the package here (default: ./<name>.skypkg)")
	keyPath := fs.String("key", "", "sign with the ed25519 private key in this file")
	pos, code, stop := fs.parse(args, stdout, stderr)
	if stop {
		return code
	}
	if len(pos) != 1 {
		return usageError(stderr, "pack", extPackUsage, "name one .skyext file, or a directory holding one")
	}
	files, err := extensionFiles(pos, ".skyext")
	if err != nil {
		return usageError(stderr, "pack", extPackUsage, "%v", err)
	}
	if len(files) != 1 {
		return usageError(stderr, "pack", extPackUsage, "%s holds %d .skyext files (%s); name the one to pack", pos[0], len(files), strings.Join(files, ", "))
	}
	var key ed25519.PrivateKey
	if *keyPath != "" {
		if key, err = readPrivateKey(*keyPath); err != nil {
			fmt.Fprintf(stderr, "skybot ext pack: %v\n", err)
			return exitUsage
		}
	}

	v, err := newValidator(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "skybot ext pack: %v\n", err)
		return exitFail
	}
	r := v.check(ctx, files[0])
	v.close()
	r.print(stdout)
	if n := r.errors(); n > 0 {
		fmt.Fprintf(stderr, "skybot ext pack: %s has %s; nothing was written.\n", files[0], plural(n, "error"))
		return exitFail
	}

	pkg := extensions.Package{Format: extensions.PackageV2, Manifest: r.man, Code: r.code}
	if key != nil {
		pkg.Signature = signCode(key, r.code)
	}
	data, err := pkg.Encode(extensions.PackageV2, time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "skybot ext pack: %v\n", err)
		return exitFail
	}
	dest := *out
	if dest == "" {
		dest = extensions.PackageFilename(r.man.Name)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		fmt.Fprintf(stderr, "skybot ext pack: %v\n", err)
		return exitFail
	}
	if err := os.WriteFile(dest, data, 0o644); err != nil {
		fmt.Fprintf(stderr, "skybot ext pack: write %s: %v\n", dest, err)
		return exitFail
	}
	signed := "unsigned"
	if key != nil {
		signed = "signed by " + base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))
	}
	fmt.Fprintf(stdout, "Wrote %s: %s %s, package format %s, %d bytes, %s.\n", dest, r.man.Name, r.man.Version, extensions.PackageV2, len(data), signed)
	return exitOK
}

func extKeygenCmd(args []string, stdout, stderr io.Writer) int {
	fs := newExtFlags("keygen", extKeygenUsage)
	pos, code, stop := fs.parse(args, stdout, stderr)
	if stop {
		return code
	}
	if len(pos) != 1 {
		return usageError(stderr, "keygen", extKeygenUsage, "name the private key file to write, e.g. skybot ext keygen ~/.skybot/author.key")
	}
	priv, pubFile := pos[0], pos[0]+".pub"
	for _, p := range []string{priv, pubFile} {
		if _, err := os.Lstat(p); err == nil {
			fmt.Fprintf(stderr, "skybot ext keygen: %s already exists; nothing was written.\n", p)
			return exitUsage
		}
	}
	if err := os.MkdirAll(filepath.Dir(priv), 0o700); err != nil {
		fmt.Fprintf(stderr, "skybot ext keygen: %v\n", err)
		return exitFail
	}
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		fmt.Fprintf(stderr, "skybot ext keygen: %v\n", err)
		return exitFail
	}
	if err := writeNew(priv, base64.StdEncoding.EncodeToString(key.Seed())+"\n", 0o600); err != nil {
		fmt.Fprintf(stderr, "skybot ext keygen: %v\n", err)
		return exitFail
	}
	pubText := base64.StdEncoding.EncodeToString(pub)
	if err := writeNew(pubFile, pubText+"\n", 0o644); err != nil {
		fmt.Fprintf(stderr, "skybot ext keygen: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "Wrote the private key to %s (keep it secret) and the public key to %s:\n  %s\n", priv, pubFile, pubText)
	return exitOK
}

// writeNew creates path with content; it fails if path exists.
func writeNew(path, content string, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// signCode is a package signature: ed25519 over the hex sha256 of the
// code, the digest the .skypkg itself carries (extensions.SignatureMessage,
// which the publication pipeline's author check verifies).
func signCode(key ed25519.PrivateKey, code string) []byte {
	return ed25519.Sign(key, extensions.SignatureMessage(codeDigest(code)))
}

// verifySignature checks a package's signature with pub.
func verifySignature(pub ed25519.PublicKey, pkg extensions.Package) bool {
	return len(pkg.Signature) == ed25519.SignatureSize && ed25519.Verify(pub, extensions.SignatureMessage(codeDigest(pkg.Code)), pkg.Signature)
}

func codeDigest(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:])
}

// readPrivateKey reads a key file: base64 of a 32-byte seed or a 64-byte
// private key.
func readPrivateKey(path string) (ed25519.PrivateKey, error) {
	raw, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	switch len(raw) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(raw), nil
	case ed25519.PrivateKeySize:
		key := ed25519.PrivateKey(raw)
		if !key.Public().(ed25519.PublicKey).Equal(ed25519.NewKeyFromSeed(key.Seed()).Public()) {
			return nil, fmt.Errorf("%s is not a consistent ed25519 private key", path)
		}
		return key, nil
	}
	return nil, fmt.Errorf("%s holds %d bytes; an ed25519 private key is a %d-byte seed or a %d-byte key, in base64", path, len(raw), ed25519.SeedSize, ed25519.PrivateKeySize)
}

// readPublicKey reads a .pub file: base64 of a 32-byte public key.
func readPublicKey(path string) (ed25519.PublicKey, error) {
	raw, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	if len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%s holds %d bytes; an ed25519 public key is %d bytes, in base64", path, len(raw), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(raw), nil
}

func readKeyFile(path string) ([]byte, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	if len(text) > 4096 {
		return nil, errors.New(path + " is too large to be a key file")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(text)))
	if err != nil {
		return nil, fmt.Errorf("%s is not base64: %w", path, err)
	}
	return raw, nil
}
