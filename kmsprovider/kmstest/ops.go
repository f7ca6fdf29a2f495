package kmstest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// A request is one call being served: the scope it runs in, its body, and its
// entry in the log, whose KeyID the operation sets to the key it used.
type request struct {
	s    *Server
	sc   scope
	body []byte
	call *Call
}

// opFunc runs one operation and returns its response (nil for an empty one).
type opFunc func(r *request) (any, *apiError)

var operations = map[string]opFunc{
	"CreateKey":                       (*request).opCreateKey,
	"ReplicateKey":                    (*request).opReplicateKey,
	"CreateAlias":                     (*request).opCreateAlias,
	"DescribeKey":                     (*request).opDescribeKey,
	"EnableKey":                       (*request).opEnableKey,
	"DisableKey":                      (*request).opDisableKey,
	"ScheduleKeyDeletion":             (*request).opScheduleKeyDeletion,
	"CancelKeyDeletion":               (*request).opCancelKeyDeletion,
	"GenerateDataKey":                 (*request).opGenerateDataKey,
	"GenerateDataKeyWithoutPlaintext": (*request).opGenerateDataKeyWithoutPlaintext,
	"Encrypt":                         (*request).opEncrypt,
	"Decrypt":                         (*request).opDecrypt,
	"ReEncrypt":                       (*request).opReEncrypt,
	"GetPublicKey":                    (*request).opGetPublicKey,
	"DeriveSharedSecret":              (*request).opDeriveSharedSecret,
	"GenerateRandom":                  (*request).opGenerateRandom,
}

// Wire shapes. Member names are KMS's; []byte is a base64 blob and float64
// an epoch-seconds timestamp, as in AWS JSON 1.1.

type keyMetadata struct {
	AWSAccountId                string
	KeyId                       string
	Arn                         string
	CreationDate                float64
	Enabled                     bool
	Description                 string
	KeyUsage                    string
	KeyState                    string
	DeletionDate                *float64 `json:",omitempty"`
	Origin                      string
	KeyManager                  string
	CustomerMasterKeySpec       string
	KeySpec                     string
	EncryptionAlgorithms        []string `json:",omitempty"`
	KeyAgreementAlgorithms      []string `json:",omitempty"`
	MultiRegion                 bool
	MultiRegionConfiguration    *multiRegionConfiguration `json:",omitempty"`
	PendingDeletionWindowInDays int32                     `json:",omitempty"`
}

type multiRegionConfiguration struct {
	MultiRegionKeyType string
	PrimaryKey         *multiRegionKey
	ReplicaKeys        []multiRegionKey
}

type multiRegionKey struct {
	Arn    string
	Region string
}

// The members several operations share. An operation's input embeds them,
// and decode checks them as KMS does, before anything else of the request.

// withGrants is the GrantTokens member.
type withGrants struct{ GrantTokens []string }

func (w *withGrants) grantTokens() []string { return w.GrantTokens }

// withRecipient is the Recipient member (attested enclaves), which kmstest
// refuses.
type withRecipient struct{ Recipient json.RawMessage }

func (w *withRecipient) recipient() json.RawMessage { return w.Recipient }

// decode unmarshals the request body into v, a pointer to an operation's
// input, and checks the shared members that v embeds: Recipient, then
// GrantTokens.
func (r *request) decode(v any) *apiError {
	if err := json.Unmarshal(r.body, v); err != nil {
		return &apiError{typ: "SerializationException", msg: "esdk/kmstest: malformed request: " + err.Error()}
	}
	if w, ok := v.(interface{ recipient() json.RawMessage }); ok {
		if rc := w.recipient(); len(rc) > 0 && string(rc) != "null" {
			return unsupportedRecipient
		}
	}
	if w, ok := v.(interface{ grantTokens() []string }); ok {
		return checkGrantTokens(w.grantTokens())
	}
	return nil
}

// useKey resolves id to a key that must be Enabled for a cryptographic
// operation and logs it. On a state error the key is returned with the
// error.
func (r *request) useKey(id string) (*key, *apiError) {
	r.s.mu.Lock()
	k, err := r.s.usableLocked(r.sc, id)
	r.s.mu.Unlock()
	if k != nil {
		r.call.KeyID = k.arn
	}
	return k, err
}

// keyLocked resolves id for a management operation and logs it. s.mu must
// be held.
func (r *request) keyLocked(id string) (*key, *apiError) {
	k, err := r.s.lookupLocked(r.sc, id)
	if err != nil {
		return nil, err
	}
	r.call.KeyID = k.arn
	return k, nil
}

func checkGrantTokens(gt []string) *apiError {
	if len(gt) > 10 {
		return validation("grantTokens", "Member must have length less than or equal to 10")
	}
	for _, t := range gt {
		if len(t) < 1 || len(t) > 8192 {
			return validation("grantTokens", "Member must have length between 1 and 8192")
		}
	}
	return nil
}

func checkAlgorithm(alg *string) *apiError {
	if *alg == "" {
		*alg = string(types.EncryptionAlgorithmSpecSymmetricDefault)
	}
	if !slices.Contains(types.EncryptionAlgorithmSpec("").Values(), types.EncryptionAlgorithmSpec(*alg)) {
		return validation("encryptionAlgorithm", "Member must satisfy enum value set: [SYMMETRIC_DEFAULT, RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, SM2PKE]")
	}
	return nil
}

var dryRun = &apiError{typ: "DryRunOperationException", msg: "The request would have succeeded, but the DryRun option is set."}

var unsupportedRecipient = &apiError{typ: "UnsupportedOperationException", msg: "esdk/kmstest: Recipient (attested enclaves) is not supported"}

func (r *request) opCreateKey() (any, *apiError) {
	var in struct {
		Description           string
		KeyUsage              string
		KeySpec               string
		CustomerMasterKeySpec string
		Origin                string
		CustomKeyStoreId      string
		XksKeyId              string
		MultiRegion           bool
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	spec := in.KeySpec
	if spec == "" {
		spec = in.CustomerMasterKeySpec
	} else if in.CustomerMasterKeySpec != "" && in.CustomerMasterKeySpec != spec {
		return nil, &apiError{typ: "ValidationException", msg: "KeySpec and CustomerMasterKeySpec differ; use KeySpec only"}
	}
	if spec == "" {
		spec = string(types.KeySpecSymmetricDefault)
	}
	if !slices.Contains(types.KeySpec("").Values(), types.KeySpec(spec)) {
		return nil, validation("keySpec", "Member must satisfy enum value set: "+strings.Join(enumStrings(types.KeySpec("").Values()), ", "))
	}
	usage, err := keyUsage(types.KeySpec(spec), types.KeyUsageType(in.KeyUsage))
	if err != nil {
		return nil, err
	}
	if in.Origin != "" && in.Origin != "AWS_KMS" {
		return nil, &apiError{typ: "UnsupportedOperationException", msg: "esdk/kmstest: Origin " + in.Origin + " is not supported; only AWS_KMS"}
	}
	if in.CustomKeyStoreId != "" || in.XksKeyId != "" {
		return nil, &apiError{typ: "UnsupportedOperationException", msg: "esdk/kmstest: custom key stores are not supported"}
	}
	if len(in.Description) > 8192 {
		return nil, validation("description", "Member must have length less than or equal to 8192")
	}
	mat, merr := newMaterial(types.KeySpec(spec), usage)
	if merr != nil {
		return nil, &apiError{typ: "UnsupportedOperationException", msg: merr.Error()}
	}
	s, sc := r.s, r.sc
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.addKeyLocked(keyRef{sc.region, sc.account, newKeyID(in.MultiRegion)}, mat, in.Description, in.MultiRegion, sc.region)
	r.call.KeyID = k.arn
	return struct{ KeyMetadata *keyMetadata }{s.metadataLocked(k)}, nil
}

// keyUsage checks the KeyUsage of a CreateKey request against its key spec
// as KMS does and returns it ("" means ENCRYPT_DECRYPT). SIGN_VERIFY is
// refused as not implemented; specs kmstest does not implement are left to
// newMaterial to refuse.
func keyUsage(spec types.KeySpec, usage types.KeyUsageType) (types.KeyUsageType, *apiError) {
	if usage == "" {
		usage = types.KeyUsageTypeEncryptDecrypt
	}
	if !slices.Contains(usage.Values(), usage) {
		return "", validation("keyUsage", "Member must satisfy enum value set: ["+strings.Join(enumStrings(usage.Values()), ", ")+"]")
	}
	var valid []types.KeyUsageType
	switch {
	case spec == types.KeySpecSymmetricDefault:
		valid = []types.KeyUsageType{types.KeyUsageTypeEncryptDecrypt}
	case strings.HasPrefix(string(spec), "RSA_"):
		valid = []types.KeyUsageType{types.KeyUsageTypeEncryptDecrypt, types.KeyUsageTypeSignVerify}
	case eccCurves[spec] != nil:
		valid = []types.KeyUsageType{types.KeyUsageTypeSignVerify, types.KeyUsageTypeKeyAgreement}
	case spec == types.KeySpecSm2:
		valid = []types.KeyUsageType{types.KeyUsageTypeEncryptDecrypt, types.KeyUsageTypeSignVerify, types.KeyUsageTypeKeyAgreement}
	case strings.HasPrefix(string(spec), "HMAC_"):
		valid = []types.KeyUsageType{types.KeyUsageTypeGenerateVerifyMac}
	case strings.HasPrefix(string(spec), "ML_KEM_"):
		valid = []types.KeyUsageType{types.KeyUsageTypeEncapsulateDecapsulate}
	default: // ECC_SECG_P256K1, ECC_NIST_EDWARDS25519, ML_DSA_*
		valid = []types.KeyUsageType{types.KeyUsageTypeSignVerify}
	}
	if !slices.Contains(valid, usage) {
		return "", &apiError{typ: "ValidationException", msg: "KeyUsage " + string(usage) + " is not compatible with KeySpec " + string(spec) + "; it takes " + strings.Join(enumStrings(valid), " or ")}
	}
	if usage == types.KeyUsageTypeSignVerify {
		return "", &apiError{typ: "UnsupportedOperationException", msg: "esdk/kmstest: KeyUsage SIGN_VERIFY is not supported (signing is not implemented)"}
	}
	return usage, nil
}

// wrongUsage is KMS's answer to an operation that a key's usage does not
// allow.
func wrongUsage(k *key, op string) *apiError {
	return &apiError{typ: "InvalidKeyUsageException", msg: k.arn + " key usage is " + string(k.mat.usage) + " which is not valid for " + op + "."}
}

// addKeyLocked stores a new Enabled key. s.mu must be held.
func (s *Server) addKeyLocked(ref keyRef, mat *material, description string, multiRegion bool, primary string) *key {
	k := &key{
		ref:         ref,
		arn:         keyARN(ref),
		mat:         mat,
		created:     time.Now(),
		description: description,
		state:       types.KeyStateEnabled,
		multiRegion: multiRegion,
		primary:     primary,
	}
	s.keys[ref] = k
	if multiRegion {
		g := keyRef{account: ref.account, id: ref.id}
		s.mrks[g] = append(s.mrks[g], ref.region)
	}
	return k
}

func (r *request) opReplicateKey() (any, *apiError) {
	var in struct {
		KeyId         string
		ReplicaRegion string
		Description   string
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if in.ReplicaRegion == "" || len(in.ReplicaRegion) > 32 {
		return nil, validation("replicaRegion", "Member must have length between 1 and 32")
	}
	s, sc := r.s, r.sc
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := r.keyLocked(in.KeyId)
	if err != nil {
		return nil, err
	}
	switch {
	case !k.multiRegion:
		return nil, &apiError{typ: "UnsupportedOperationException", msg: k.arn + " is not a multi-Region key"}
	case k.ref.region != k.primary:
		return nil, &apiError{typ: "UnsupportedOperationException", msg: k.arn + " is a replica key; replicate its primary key in " + k.primary}
	case in.ReplicaRegion == sc.region:
		return nil, &apiError{typ: "ValidationException", msg: "The replica region must differ from the region of the primary key"}
	case partition(in.ReplicaRegion) != partition(sc.region):
		return nil, &apiError{typ: "ValidationException", msg: "The replica region " + in.ReplicaRegion + " is not in the partition of the primary key"}
	case k.state == types.KeyStatePendingDeletion || k.state == types.KeyStatePendingReplicaDeletion:
		return nil, usable(k)
	}
	ref := keyRef{in.ReplicaRegion, k.ref.account, k.ref.id}
	if _, ok := s.keys[ref]; ok {
		return nil, &apiError{typ: "AlreadyExistsException", msg: keyARN(ref) + " already exists"}
	}
	desc := in.Description
	if desc == "" {
		desc = k.description
	}
	rk := s.addKeyLocked(ref, k.mat, desc, true, k.primary)
	return struct {
		ReplicaKeyMetadata *keyMetadata
		ReplicaTags        []struct{}
	}{s.metadataLocked(rk), []struct{}{}}, nil
}

var aliasName = regexp.MustCompile(`^alias/[a-zA-Z0-9/_-]+$`)

func (r *request) opCreateAlias() (any, *apiError) {
	var in struct{ AliasName, TargetKeyId string }
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if len(in.AliasName) > 256 || !aliasName.MatchString(in.AliasName) {
		return nil, &apiError{typ: "InvalidAliasNameException", msg: "Alias name " + strconv.Quote(in.AliasName) + " must begin with alias/ followed by letters, digits, /, _ or -"}
	}
	if strings.HasPrefix(in.AliasName, "alias/aws/") {
		return nil, &apiError{typ: "InvalidAliasNameException", msg: "Alias name must not begin with alias/aws/"}
	}
	if strings.Contains(in.TargetKeyId, "alias/") {
		return nil, &apiError{typ: "ValidationException", msg: "TargetKeyId must be a key id or key ARN, not an alias"}
	}
	s, sc := r.s, r.sc
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := r.keyLocked(in.TargetKeyId)
	if err != nil {
		return nil, err
	}
	if k.ref.account != sc.account {
		return nil, &apiError{typ: "AccessDeniedException", msg: "An alias and its key must be in the same account"}
	}
	if k.state == types.KeyStatePendingDeletion || k.state == types.KeyStatePendingReplicaDeletion {
		return nil, usable(k)
	}
	ref := keyRef{sc.region, sc.account, in.AliasName}
	if _, ok := s.aliases[ref]; ok {
		return nil, &apiError{typ: "AlreadyExistsException", msg: "An alias with the name " + aliasARN(ref) + " already exists"}
	}
	s.aliases[ref] = k.ref.id
	return nil, nil
}

func (r *request) opDescribeKey() (any, *apiError) {
	var in struct {
		KeyId string
		withGrants
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	k, err := r.keyLocked(in.KeyId)
	if err != nil {
		return nil, err
	}
	return struct{ KeyMetadata *keyMetadata }{r.s.metadataLocked(k)}, nil
}

func (r *request) opEnableKey() (any, *apiError) {
	return nil, r.setEnabled(types.KeyStateEnabled)
}

func (r *request) opDisableKey() (any, *apiError) {
	return nil, r.setEnabled(types.KeyStateDisabled)
}

func (r *request) setEnabled(state types.KeyState) *apiError {
	var in struct{ KeyId string }
	if err := r.decode(&in); err != nil {
		return err
	}
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	k, err := r.keyLocked(in.KeyId)
	if err != nil {
		return err
	}
	if k.state != types.KeyStateEnabled && k.state != types.KeyStateDisabled {
		return usable(k)
	}
	k.state = state
	return nil
}

func (r *request) opScheduleKeyDeletion() (any, *apiError) {
	var in struct {
		KeyId               string
		PendingWindowInDays *int32
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	days := int32(30)
	if in.PendingWindowInDays != nil {
		days = *in.PendingWindowInDays
	}
	if days < 7 || days > 30 {
		return nil, validation("pendingWindowInDays", "Member must have value between 7 and 30")
	}
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := r.keyLocked(in.KeyId)
	if err != nil {
		return nil, err
	}
	if k.state != types.KeyStateEnabled && k.state != types.KeyStateDisabled {
		return nil, usable(k)
	}
	k.state = types.KeyStatePendingDeletion
	if k.multiRegion && k.ref.region == k.primary && len(s.mrks[keyRef{account: k.ref.account, id: k.ref.id}]) > 1 {
		k.state = types.KeyStatePendingReplicaDeletion
	}
	k.deletion = time.Now().Add(time.Duration(days) * 24 * time.Hour)
	k.window = days
	return struct {
		KeyId               string
		DeletionDate        float64
		KeyState            string
		PendingWindowInDays int32
	}{k.arn, epoch(k.deletion), string(k.state), days}, nil
}

func (r *request) opCancelKeyDeletion() (any, *apiError) {
	var in struct{ KeyId string }
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	k, err := r.keyLocked(in.KeyId)
	if err != nil {
		return nil, err
	}
	if k.state != types.KeyStatePendingDeletion && k.state != types.KeyStatePendingReplicaDeletion {
		return nil, &apiError{typ: "KMSInvalidStateException", msg: k.arn + " is " + string(k.state) + ", not pending deletion."}
	}
	k.state = types.KeyStateDisabled
	k.deletion = time.Time{}
	k.window = 0
	return struct{ KeyId string }{k.arn}, nil
}

// dataKeyIn is the input of GenerateDataKeyWithoutPlaintext, and with
// Recipient of GenerateDataKey.
type dataKeyIn struct {
	KeyId             string
	EncryptionContext map[string]string
	NumberOfBytes     *int32
	KeySpec           string
	DryRun            bool
	withGrants
}

func (r *request) opGenerateDataKey() (any, *apiError) {
	var in struct {
		dataKeyIn
		withRecipient
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	k, pt, ct, err := r.dataKey(in.dataKeyIn)
	if err != nil {
		return nil, err
	}
	return struct {
		CiphertextBlob []byte
		Plaintext      []byte
		KeyId          string
	}{ct, pt, k.arn}, nil
}

func (r *request) opGenerateDataKeyWithoutPlaintext() (any, *apiError) {
	var in dataKeyIn
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	k, _, ct, err := r.dataKey(in)
	if err != nil {
		return nil, err
	}
	return struct {
		CiphertextBlob []byte
		KeyId          string
	}{ct, k.arn}, nil
}

func (r *request) dataKey(in dataKeyIn) (k *key, pt, ct []byte, err *apiError) {
	n, err := dataKeyLength(in.NumberOfBytes, in.KeySpec)
	if err != nil {
		return nil, nil, nil, err
	}
	k, err = r.useKey(in.KeyId)
	if err != nil {
		return nil, nil, nil, err
	}
	if k.mat.spec != types.KeySpecSymmetricDefault {
		return nil, nil, nil, &apiError{typ: "InvalidKeyUsageException", msg: k.arn + " is an asymmetric key (" + string(k.mat.spec) + "); data keys need a symmetric encryption key"}
	}
	if in.DryRun {
		return nil, nil, nil, dryRun
	}
	pt = make([]byte, n)
	rand.Read(pt)
	return k, pt, sealSymmetric(k, pt, in.EncryptionContext), nil
}

func dataKeyLength(n *int32, spec string) (int, *apiError) {
	if (n == nil) == (spec == "") {
		return 0, &apiError{typ: "ValidationException", msg: "Please specify either number of bytes or key spec."}
	}
	switch {
	case n != nil && (*n < 1 || *n > 1024):
		return 0, validation("numberOfBytes", "Member must have value between 1 and 1024")
	case n != nil:
		return int(*n), nil
	case spec == string(types.DataKeySpecAes128):
		return 16, nil
	case spec == string(types.DataKeySpecAes256):
		return 32, nil
	}
	return 0, validation("keySpec", "Member must satisfy enum value set: [AES_256, AES_128]")
}

func (r *request) opEncrypt() (any, *apiError) {
	var in struct {
		KeyId               string
		Plaintext           []byte
		EncryptionContext   map[string]string
		EncryptionAlgorithm string
		DryRun              bool
		withGrants
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if err := checkPlaintext(in.Plaintext); err != nil {
		return nil, err
	}
	if err := checkAlgorithm(&in.EncryptionAlgorithm); err != nil {
		return nil, err
	}
	k, err := r.useKey(in.KeyId)
	if err != nil {
		return nil, err
	}
	ct, err := encryptWith(k, in.Plaintext, in.EncryptionContext, in.EncryptionAlgorithm, in.DryRun)
	if err != nil {
		return nil, err
	}
	return struct {
		CiphertextBlob      []byte
		KeyId               string
		EncryptionAlgorithm string
	}{ct, k.arn, in.EncryptionAlgorithm}, nil
}

func checkPlaintext(pt []byte) *apiError {
	if len(pt) < 1 {
		return validation("plaintext", "Member must have length greater than or equal to 1")
	}
	if len(pt) > maxPlaintext {
		return validation("plaintext", "Member must have length less than or equal to 4096")
	}
	return nil
}

// encryptWith encrypts under a usable key with an algorithm already checked
// by checkAlgorithm.
func encryptWith(k *key, pt []byte, ec map[string]string, alg string, dry bool) ([]byte, *apiError) {
	if k.mat.usage != types.KeyUsageTypeEncryptDecrypt {
		return nil, wrongUsage(k, "encryption")
	}
	sym := k.mat.spec == types.KeySpecSymmetricDefault
	if sym != (alg == string(types.EncryptionAlgorithmSpecSymmetricDefault)) || alg == string(types.EncryptionAlgorithmSpecSm2pke) {
		return nil, &apiError{typ: "InvalidKeyUsageException", msg: "Encryption algorithm " + alg + " is not supported by " + k.arn + " (" + string(k.mat.spec) + ")"}
	}
	if !sym {
		if len(ec) > 0 {
			return nil, &apiError{typ: "ValidationException", msg: "EncryptionContext is not supported with asymmetric keys"}
		}
		h := oaepHash(types.EncryptionAlgorithmSpec(alg))
		if max := maxRSAPlaintext(k.mat.rsa, h); len(pt) > max {
			return nil, &apiError{typ: "ValidationException", msg: "Plaintext of " + strconv.Itoa(len(pt)) + " bytes is too long for " + string(k.mat.spec) + " with " + alg + " (at most " + strconv.Itoa(max) + ")"}
		}
		if dry {
			return nil, dryRun
		}
		ct, err := rsa.EncryptOAEP(h, rand.Reader, &k.mat.rsa.PublicKey, pt, nil)
		if err != nil {
			return nil, &apiError{typ: "KMSInternalException", msg: "esdk/kmstest: " + err.Error()}
		}
		return ct, nil
	}
	if dry {
		return nil, dryRun
	}
	return sealSymmetric(k, pt, ec), nil
}

func (r *request) opDecrypt() (any, *apiError) {
	var in struct {
		CiphertextBlob      []byte
		EncryptionContext   map[string]string
		KeyId               string
		EncryptionAlgorithm string
		DryRun              bool
		withGrants
		withRecipient
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	k, pt, err := r.decrypt(in.CiphertextBlob, in.EncryptionContext, in.KeyId, &in.EncryptionAlgorithm, in.DryRun)
	if err != nil {
		return nil, err
	}
	return struct {
		KeyId               string
		Plaintext           []byte
		EncryptionAlgorithm string
	}{k.arn, pt, in.EncryptionAlgorithm}, nil
}

// decrypt resolves the key of a ciphertext (from keyID, or for symmetric
// ciphertexts from the blob), logs it, and decrypts the ciphertext.
func (r *request) decrypt(blob []byte, ec map[string]string, keyID string, alg *string, dry bool) (*key, []byte, *apiError) {
	if len(blob) < 1 {
		return nil, nil, validation("ciphertextBlob", "Member must have length greater than or equal to 1")
	}
	if len(blob) > maxCiphertext {
		return nil, nil, validation("ciphertextBlob", "Member must have length less than or equal to 6144")
	}
	if err := checkAlgorithm(alg); err != nil {
		return nil, nil, err
	}
	sym := *alg == string(types.EncryptionAlgorithmSpecSymmetricDefault)
	if !sym && keyID == "" {
		return nil, nil, &apiError{typ: "ValidationException", msg: "KeyId is required to decrypt with an asymmetric key (EncryptionAlgorithm " + *alg + ")"}
	}
	blobRef, wellFormed := blobKey(blob)

	var k *key
	var err *apiError
	switch {
	case keyID != "":
		k, err = r.useKey(keyID)
	case !wellFormed:
		err = &apiError{typ: "InvalidCiphertextException", msg: "The ciphertext is invalid or does not name a key"}
	default:
		// A multi-Region ciphertext decrypts under the replica in the
		// caller's region.
		ref := blobRef
		if strings.HasPrefix(ref.id, "mrk-") {
			ref.region = r.sc.region
		}
		k, err = r.useKey(keyARN(ref))
	}
	if err != nil {
		return nil, nil, err
	}

	if k.mat.usage != types.KeyUsageTypeEncryptDecrypt {
		return nil, nil, wrongUsage(k, "decryption")
	}
	if (k.mat.spec == types.KeySpecSymmetricDefault) != sym || *alg == string(types.EncryptionAlgorithmSpecSm2pke) {
		return nil, nil, &apiError{typ: "InvalidKeyUsageException", msg: "Encryption algorithm " + *alg + " is not supported by " + k.arn + " (" + string(k.mat.spec) + ")"}
	}
	if !sym {
		if len(ec) > 0 {
			return nil, nil, &apiError{typ: "ValidationException", msg: "EncryptionContext is not supported with asymmetric keys"}
		}
		if dry {
			return nil, nil, dryRun
		}
		pt, derr := rsa.DecryptOAEP(oaepHash(types.EncryptionAlgorithmSpec(*alg)), nil, k.mat.rsa, blob, nil)
		if derr != nil {
			return nil, nil, &apiError{typ: "InvalidCiphertextException", msg: "The ciphertext is invalid for " + k.arn + " with " + *alg}
		}
		return k, pt, nil
	}
	if !wellFormed {
		return nil, nil, &apiError{typ: "InvalidCiphertextException", msg: "The ciphertext is invalid or does not name a key"}
	}
	if !sameKey(blobRef, k) {
		return nil, nil, &apiError{typ: "IncorrectKeyException", msg: "The key ID in the request does not identify a KMS key that can perform this operation: the ciphertext was encrypted under another key"}
	}
	if dry {
		return nil, nil, dryRun
	}
	pt, ok := openSymmetric(k.mat, blob, ec)
	if !ok {
		return nil, nil, &apiError{typ: "InvalidCiphertextException", msg: "The ciphertext or its encryption context does not match " + k.arn}
	}
	return k, pt, nil
}

// sameKey reports whether a blob's key is k: the same key, or a replica of
// the same multi-Region key.
func sameKey(blob keyRef, k *key) bool {
	if blob == k.ref {
		return true
	}
	return k.multiRegion && blob.account == k.ref.account && blob.id == k.ref.id &&
		partition(blob.region) == partition(k.ref.region)
}

func (r *request) opReEncrypt() (any, *apiError) {
	var in struct {
		CiphertextBlob                 []byte
		SourceEncryptionContext        map[string]string
		SourceKeyId                    string
		DestinationKeyId               string
		DestinationEncryptionContext   map[string]string
		SourceEncryptionAlgorithm      string
		DestinationEncryptionAlgorithm string
		DryRun                         bool
		withGrants
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if in.DestinationKeyId == "" {
		return nil, validation("destinationKeyId", "Member must have length greater than or equal to 1")
	}
	if err := checkAlgorithm(&in.DestinationEncryptionAlgorithm); err != nil {
		return nil, err
	}
	// The log names the source key until it decrypts, then the destination.
	// Each is checked for its own permission, as in KMS.
	r.call.KeyID = in.SourceKeyId
	r.sc.action = "kms:ReEncryptFrom"
	src, pt, err := r.decrypt(in.CiphertextBlob, in.SourceEncryptionContext, in.SourceKeyId, &in.SourceEncryptionAlgorithm, false)
	if err != nil {
		return nil, err
	}
	r.call.KeyID = in.DestinationKeyId
	r.sc.action = "kms:ReEncryptTo"
	dst, err := r.useKey(in.DestinationKeyId)
	if err != nil {
		return nil, err
	}
	if len(pt) > maxPlaintext {
		return nil, validation("plaintext", "Member must have length less than or equal to 4096")
	}
	ct, err := encryptWith(dst, pt, in.DestinationEncryptionContext, in.DestinationEncryptionAlgorithm, in.DryRun)
	if err != nil {
		return nil, err
	}
	return struct {
		CiphertextBlob                 []byte
		SourceKeyId                    string
		KeyId                          string
		SourceEncryptionAlgorithm      string
		DestinationEncryptionAlgorithm string
	}{ct, src.arn, dst.arn, in.SourceEncryptionAlgorithm, in.DestinationEncryptionAlgorithm}, nil
}

func (r *request) opGetPublicKey() (any, *apiError) {
	var in struct {
		KeyId string
		withGrants
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	k, err := r.useKey(in.KeyId)
	if err != nil {
		return nil, err
	}
	var pub any
	switch {
	case k.mat.rsa != nil:
		pub = &k.mat.rsa.PublicKey
	case k.mat.ecdh != nil:
		pub = k.mat.ecdh.PublicKey()
	default:
		return nil, &apiError{typ: "UnsupportedOperationException", msg: k.arn + " is a symmetric key; it has no public key"}
	}
	der, merr := x509.MarshalPKIXPublicKey(pub)
	if merr != nil {
		return nil, &apiError{typ: "KMSInternalException", msg: "esdk/kmstest: " + merr.Error()}
	}
	return struct {
		KeyId                  string
		PublicKey              []byte
		CustomerMasterKeySpec  string
		KeySpec                string
		KeyUsage               string
		EncryptionAlgorithms   []string `json:",omitempty"`
		KeyAgreementAlgorithms []string `json:",omitempty"`
	}{k.arn, der, string(k.mat.spec), string(k.mat.spec), string(k.mat.usage), algorithms(k.mat), agreementAlgorithms(k.mat)}, nil
}

func (r *request) opGenerateRandom() (any, *apiError) {
	var in struct {
		NumberOfBytes    *int32
		CustomKeyStoreId string
		withRecipient
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if in.CustomKeyStoreId != "" {
		return nil, &apiError{typ: "UnsupportedOperationException", msg: "esdk/kmstest: custom key stores are not supported"}
	}
	if in.NumberOfBytes == nil || *in.NumberOfBytes < 1 || *in.NumberOfBytes > 1024 {
		return nil, validation("numberOfBytes", "Member must have value between 1 and 1024")
	}
	b := make([]byte, *in.NumberOfBytes)
	rand.Read(b)
	return struct{ Plaintext []byte }{b}, nil
}

func enumStrings[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}
