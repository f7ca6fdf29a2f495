package kmstest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strings"
)

// An identity is whom a request acts as: an account (its root principal),
// or an IAM user or role of an account.
type identity struct {
	account   string
	principal string // "" for the account's root
}

// parseIdentity reads an identity as Config, Client and Credentials take
// it: "" (DefaultAccount), a 12-digit account id, or an IAM principal ARN
// arn:PARTITION:iam::ACCOUNT:root, :user/NAME or :role/NAME (NAME may hold
// a path).
func parseIdentity(id string) (identity, bool) {
	switch {
	case id == "":
		return identity{account: DefaultAccount}, true
	case isAccount(id):
		return identity{account: id}, true
	}
	f := strings.SplitN(id, ":", 6)
	if len(f) != 6 || f[0] != "arn" || f[1] == "" || f[2] != "iam" || f[3] != "" || !isAccount(f[4]) {
		return identity{}, false
	}
	if f[5] == "root" {
		return identity{account: f[4]}, true
	}
	kind, name, ok := strings.Cut(f[5], "/")
	if !ok || (kind != "user" && kind != "role") || name == "" || strings.HasSuffix(name, "/") {
		return identity{}, false
	}
	return identity{account: f[4], principal: id}, true
}

// principalARN is the principal a request of id runs as in region.
func (id identity) principalARN(region string) string {
	if id.principal != "" {
		return id.principal
	}
	return "arn:" + partition(region) + ":iam::" + id.account + ":root"
}

// accessKeyID is the access key id that the server hands out for id: the
// account id for an account, and for an IAM principal an id in the shape of
// an AWS one (AKIA and 16 characters), the same for the same principal.
func (id identity) accessKeyID() string {
	if id.principal == "" {
		return id.account
	}
	h := sha256.Sum256([]byte(id.principal))
	return "AKIA" + base32.StdEncoding.EncodeToString(h[:])[:16]
}

// secretFor is the secret access key the server hands out with an access
// key id: derived from the id under the server's own random key, so that
// only the credentials the server handed out sign valid requests.
func (s *Server) secretFor(accessKeyID string) string {
	m := hmac.New(sha256.New, s.secret[:])
	m.Write([]byte(accessKeyID))
	return hex.EncodeToString(m.Sum(nil))[:40]
}

// identityOf returns the identity behind an access key id, and whether the
// server handed it out: an account id, or a principal's key made by
// Credentials, Config or Client.
func (s *Server) identityOf(accessKeyID string) (identity, bool) {
	if isAccount(accessKeyID) {
		return identity{account: accessKeyID}, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.principals[accessKeyID]
	return id, ok
}

// AllowKey lets principals of other accounts use a key, as a statement of
// its key policy would: key is a key ARN, which allows that key in its
// region only, or a key id, which allows the key in every region (all
// replicas of a multi-Region key). Each principal is a 12-digit account id
// or its root ARN (arn:aws:iam::ACCOUNT:root), allowing every request of
// that account; an IAM user or role ARN, allowing that principal only; or
// "*", allowing everyone.
//
// A key's own account always uses it. Another account's request without an
// allowing statement gets AccessDeniedException, as from KMS. The
// statement allows the operations KMS permits across accounts (Encrypt,
// Decrypt, ReEncrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext,
// DescribeKey, GetPublicKey, DeriveSharedSecret); the others (EnableKey,
// DisableKey, ScheduleKeyDeletion, CancelKeyDeletion, ReplicateKey,
// CreateAlias) are never allowed across accounts. AllowKey panics on a
// principal of none of these forms.
func (s *Server) AllowKey(key string, principals ...string) {
	ps := normalizePrincipals("AllowKey", principals)
	s.mu.Lock()
	defer s.mu.Unlock()
	set := s.allowed[key]
	if set == nil {
		set = make(map[string]bool)
		s.allowed[key] = set
	}
	for _, p := range ps {
		set[p] = true
	}
}

// RevokeKey removes statements that AllowKey made for the same key
// (ARN or id, as given then) and principals; with no principal it removes
// every statement of the key.
func (s *Server) RevokeKey(key string, principals ...string) {
	ps := normalizePrincipals("RevokeKey", principals)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(ps) == 0 {
		delete(s.allowed, key)
		return
	}
	for _, p := range ps {
		delete(s.allowed[key], p)
	}
}

// normalizePrincipals returns principals as the policy stores them: "*",
// a 12-digit account id (for an account or its root ARN), or a user or role
// ARN.
func normalizePrincipals(method string, principals []string) []string {
	out := make([]string, 0, len(principals))
	for _, p := range principals {
		if p == "*" {
			out = append(out, p)
			continue
		}
		id, ok := parseIdentity(p)
		if !ok || p == "" {
			panic("esdk/kmstest: " + method + ": principal " + p + " is not an account id, an IAM principal ARN or \"*\"")
		}
		if id.principal == "" {
			out = append(out, id.account)
		} else {
			out = append(out, id.principal)
		}
	}
	return out
}

// crossAccount lists the actions KMS lets a key policy grant to another
// account.
var crossAccount = map[string]bool{
	"kms:Decrypt":                         true,
	"kms:Encrypt":                         true,
	"kms:ReEncryptFrom":                   true,
	"kms:ReEncryptTo":                     true,
	"kms:GenerateDataKey":                 true,
	"kms:GenerateDataKeyWithoutPlaintext": true,
	"kms:DescribeKey":                     true,
	"kms:GetPublicKey":                    true,
	"kms:DeriveSharedSecret":              true,
}

// authorizeLocked checks that the caller of sc may use k for sc.action: k is
// of the caller's account, or AllowKey allowed the caller on k for an action
// KMS permits across accounts. s.mu must be held.
func (s *Server) authorizeLocked(sc scope, k *key) *apiError {
	if k.ref.account == sc.account {
		return nil
	}
	denied := &apiError{typ: "AccessDeniedException", msg: "User: " + sc.principal + " is not authorized to perform: " + sc.action + " on resource: " + k.arn}
	if !crossAccount[sc.action] {
		denied.msg += " because " + sc.action + " cannot be used with a key of another account"
		return denied
	}
	for _, ref := range []string{k.arn, k.ref.id} {
		set := s.allowed[ref]
		if set["*"] || set[sc.account] || set[sc.principal] {
			return nil
		}
	}
	denied.msg += " because no resource-based policy allows the " + sc.action + " action"
	return denied
}
