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

// opFunc runs one operation: it decodes body, sets call.KeyID to the key it
// used, and stores the response in out.
type opFunc func(s *Server, sc scope, body []byte, call *Call, out *any) *apiError

var operations = map[string]opFunc{
	"CreateKey":                       (*Server).opCreateKey,
	"ReplicateKey":                    (*Server).opReplicateKey,
	"CreateAlias":                     (*Server).opCreateAlias,
	"DescribeKey":                     (*Server).opDescribeKey,
	"EnableKey":                       (*Server).opEnableKey,
	"DisableKey":                      (*Server).opDisableKey,
	"ScheduleKeyDeletion":             (*Server).opScheduleKeyDeletion,
	"CancelKeyDeletion":               (*Server).opCancelKeyDeletion,
	"GenerateDataKey":                 (*Server).opGenerateDataKey,
	"GenerateDataKeyWithoutPlaintext": (*Server).opGenerateDataKeyWithoutPlaintext,
	"Encrypt":                         (*Server).opEncrypt,
	"Decrypt":                         (*Server).opDecrypt,
	"ReEncrypt":                       (*Server).opReEncrypt,
	"GetPublicKey":                    (*Server).opGetPublicKey,
	"GenerateRandom":                  (*Server).opGenerateRandom,
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
	EncryptionAlgorithms        []string
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

func decode(body []byte, v any) *apiError {
	if err := json.Unmarshal(body, v); err != nil {
		return &apiError{typ: "SerializationException", msg: "kmstest: malformed request: " + err.Error()}
	}
	return nil
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

var unsupportedRecipient = &apiError{typ: "UnsupportedOperationException", msg: "kmstest: Recipient (attested enclaves) is not supported"}

func (s *Server) opCreateKey(sc scope, body []byte, call *Call, out *any) *apiError {
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
	if err := decode(body, &in); err != nil {
		return err
	}
	spec := in.KeySpec
	if spec == "" {
		spec = in.CustomerMasterKeySpec
	} else if in.CustomerMasterKeySpec != "" && in.CustomerMasterKeySpec != spec {
		return &apiError{typ: "ValidationException", msg: "KeySpec and CustomerMasterKeySpec differ; use KeySpec only"}
	}
	if spec == "" {
		spec = string(types.KeySpecSymmetricDefault)
	}
	if !slices.Contains(types.KeySpec("").Values(), types.KeySpec(spec)) {
		return validation("keySpec", "Member must satisfy enum value set: "+strings.Join(enumStrings(types.KeySpec("").Values()), ", "))
	}
	if in.KeyUsage != "" && in.KeyUsage != "ENCRYPT_DECRYPT" {
		return &apiError{typ: "UnsupportedOperationException", msg: "kmstest: KeyUsage " + in.KeyUsage + " is not supported; only ENCRYPT_DECRYPT"}
	}
	if in.Origin != "" && in.Origin != "AWS_KMS" {
		return &apiError{typ: "UnsupportedOperationException", msg: "kmstest: Origin " + in.Origin + " is not supported; only AWS_KMS"}
	}
	if in.CustomKeyStoreId != "" || in.XksKeyId != "" {
		return &apiError{typ: "UnsupportedOperationException", msg: "kmstest: custom key stores are not supported"}
	}
	if len(in.Description) > 8192 {
		return validation("description", "Member must have length less than or equal to 8192")
	}
	mat, err := newMaterial(types.KeySpec(spec))
	if err != nil {
		return &apiError{typ: "UnsupportedOperationException", msg: err.Error()}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.addKeyLocked(keyRef{sc.region, sc.account, newKeyID(in.MultiRegion)}, mat, in.Description, in.MultiRegion, sc.region)
	call.KeyID = k.arn
	*out = struct{ KeyMetadata *keyMetadata }{s.metadataLocked(k)}
	return nil
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

func (s *Server) opReplicateKey(sc scope, body []byte, call *Call, out *any) *apiError {
	var in struct {
		KeyId         string
		ReplicaRegion string
		Description   string
	}
	if err := decode(body, &in); err != nil {
		return err
	}
	if in.ReplicaRegion == "" || len(in.ReplicaRegion) > 32 {
		return validation("replicaRegion", "Member must have length between 1 and 32")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.lookupLocked(sc, in.KeyId)
	if err != nil {
		return err
	}
	call.KeyID = k.arn
	switch {
	case !k.multiRegion:
		return &apiError{typ: "UnsupportedOperationException", msg: k.arn + " is not a multi-Region key"}
	case k.ref.region != k.primary:
		return &apiError{typ: "UnsupportedOperationException", msg: k.arn + " is a replica key; replicate its primary key in " + k.primary}
	case in.ReplicaRegion == sc.region:
		return &apiError{typ: "ValidationException", msg: "The replica region must differ from the region of the primary key"}
	case partition(in.ReplicaRegion) != partition(sc.region):
		return &apiError{typ: "ValidationException", msg: "The replica region " + in.ReplicaRegion + " is not in the partition of the primary key"}
	case k.state == types.KeyStatePendingDeletion || k.state == types.KeyStatePendingReplicaDeletion:
		return usable(k)
	}
	ref := keyRef{in.ReplicaRegion, k.ref.account, k.ref.id}
	if _, ok := s.keys[ref]; ok {
		return &apiError{typ: "AlreadyExistsException", msg: keyARN(ref) + " already exists"}
	}
	desc := in.Description
	if desc == "" {
		desc = k.description
	}
	r := s.addKeyLocked(ref, k.mat, desc, true, k.primary)
	*out = struct {
		ReplicaKeyMetadata *keyMetadata
		ReplicaTags        []struct{}
	}{s.metadataLocked(r), []struct{}{}}
	return nil
}

var aliasName = regexp.MustCompile(`^alias/[a-zA-Z0-9/_-]+$`)

func (s *Server) opCreateAlias(sc scope, body []byte, call *Call, out *any) *apiError {
	var in struct{ AliasName, TargetKeyId string }
	if err := decode(body, &in); err != nil {
		return err
	}
	if len(in.AliasName) > 256 || !aliasName.MatchString(in.AliasName) {
		return &apiError{typ: "InvalidAliasNameException", msg: "Alias name " + strconv.Quote(in.AliasName) + " must begin with alias/ followed by letters, digits, /, _ or -"}
	}
	if strings.HasPrefix(in.AliasName, "alias/aws/") {
		return &apiError{typ: "InvalidAliasNameException", msg: "Alias name must not begin with alias/aws/"}
	}
	if strings.Contains(in.TargetKeyId, "alias/") {
		return &apiError{typ: "ValidationException", msg: "TargetKeyId must be a key id or key ARN, not an alias"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.lookupLocked(sc, in.TargetKeyId)
	if err != nil {
		return err
	}
	call.KeyID = k.arn
	if k.ref.account != sc.account {
		return &apiError{typ: "AccessDeniedException", msg: "An alias and its key must be in the same account"}
	}
	if k.state == types.KeyStatePendingDeletion || k.state == types.KeyStatePendingReplicaDeletion {
		return usable(k)
	}
	ref := keyRef{sc.region, sc.account, in.AliasName}
	if _, ok := s.aliases[ref]; ok {
		return &apiError{typ: "AlreadyExistsException", msg: "An alias with the name " + aliasARN(ref) + " already exists"}
	}
	s.aliases[ref] = k.ref.id
	return nil
}

func (s *Server) opDescribeKey(sc scope, body []byte, call *Call, out *any) *apiError {
	var in struct {
		KeyId       string
		GrantTokens []string
	}
	if err := decode(body, &in); err != nil {
		return err
	}
	if err := checkGrantTokens(in.GrantTokens); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.lookupLocked(sc, in.KeyId)
	if err != nil {
		return err
	}
	call.KeyID = k.arn
	*out = struct{ KeyMetadata *keyMetadata }{s.metadataLocked(k)}
	return nil
}

func (s *Server) opEnableKey(sc scope, body []byte, call *Call, out *any) *apiError {
	return s.setEnabled(sc, body, call, types.KeyStateEnabled)
}

func (s *Server) opDisableKey(sc scope, body []byte, call *Call, out *any) *apiError {
	return s.setEnabled(sc, body, call, types.KeyStateDisabled)
}

func (s *Server) setEnabled(sc scope, body []byte, call *Call, state types.KeyState) *apiError {
	var in struct{ KeyId string }
	if err := decode(body, &in); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.lookupLocked(sc, in.KeyId)
	if err != nil {
		return err
	}
	call.KeyID = k.arn
	if k.state != types.KeyStateEnabled && k.state != types.KeyStateDisabled {
		return usable(k)
	}
	k.state = state
	return nil
}

func (s *Server) opScheduleKeyDeletion(sc scope, body []byte, call *Call, out *any) *apiError {
	var in struct {
		KeyId               string
		PendingWindowInDays *int32
	}
	if err := decode(body, &in); err != nil {
		return err
	}
	days := int32(30)
	if in.PendingWindowInDays != nil {
		days = *in.PendingWindowInDays
	}
	if days < 7 || days > 30 {
		return validation("pendingWindowInDays", "Member must have value between 7 and 30")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.lookupLocked(sc, in.KeyId)
	if err != nil {
		return err
	}
	call.KeyID = k.arn
	if k.state != types.KeyStateEnabled && k.state != types.KeyStateDisabled {
		return usable(k)
	}
	k.state = types.KeyStatePendingDeletion
	if k.multiRegion && k.ref.region == k.primary && len(s.mrks[keyRef{account: k.ref.account, id: k.ref.id}]) > 1 {
		k.state = types.KeyStatePendingReplicaDeletion
	}
	k.deletion = time.Now().Add(time.Duration(days) * 24 * time.Hour)
	k.window = days
	*out = struct {
		KeyId               string
		DeletionDate        float64
		KeyState            string
		PendingWindowInDays int32
	}{k.arn, epoch(k.deletion), string(k.state), days}
	return nil
}

func (s *Server) opCancelKeyDeletion(sc scope, body []byte, call *Call, out *any) *apiError {
	var in struct{ KeyId string }
	if err := decode(body, &in); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.lookupLocked(sc, in.KeyId)
	if err != nil {
		return err
	}
	call.KeyID = k.arn
	if k.state != types.KeyStatePendingDeletion && k.state != types.KeyStatePendingReplicaDeletion {
		return &apiError{typ: "KMSInvalidStateException", msg: k.arn + " is " + string(k.state) + ", not pending deletion."}
	}
	k.state = types.KeyStateDisabled
	k.deletion = time.Time{}
	k.window = 0
	*out = struct{ KeyId string }{k.arn}
	return nil
}

type dataKeyIn struct {
	KeyId             string
	EncryptionContext map[string]string
	NumberOfBytes     *int32
	KeySpec           string
	GrantTokens       []string
	DryRun            bool
	Recipient         json.RawMessage
}

func (s *Server) opGenerateDataKey(sc scope, body []byte, call *Call, out *any) *apiError {
	var in dataKeyIn
	if err := decode(body, &in); err != nil {
		return err
	}
	if len(in.Recipient) > 0 && string(in.Recipient) != "null" {
		return unsupportedRecipient
	}
	k, pt, ct, err := s.dataKey(sc, in, call)
	if err != nil {
		return err
	}
	*out = struct {
		CiphertextBlob []byte
		Plaintext      []byte
		KeyId          string
	}{ct, pt, k.arn}
	return nil
}

func (s *Server) opGenerateDataKeyWithoutPlaintext(sc scope, body []byte, call *Call, out *any) *apiError {
	var in dataKeyIn
	if err := decode(body, &in); err != nil {
		return err
	}
	k, _, ct, err := s.dataKey(sc, in, call)
	if err != nil {
		return err
	}
	*out = struct {
		CiphertextBlob []byte
		KeyId          string
	}{ct, k.arn}
	return nil
}

func (s *Server) dataKey(sc scope, in dataKeyIn, call *Call) (k *key, pt, ct []byte, err *apiError) {
	if err := checkGrantTokens(in.GrantTokens); err != nil {
		return nil, nil, nil, err
	}
	n, err := dataKeyLength(in.NumberOfBytes, in.KeySpec)
	if err != nil {
		return nil, nil, nil, err
	}
	s.mu.Lock()
	k, err = s.usableLocked(sc, in.KeyId)
	s.mu.Unlock()
	if k != nil {
		call.KeyID = k.arn
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if k.mat.spec != types.KeySpecSymmetricDefault {
		return nil, nil, nil, &apiError{typ: "InvalidKeyUsageException", msg: k.arn + " is an asymmetric key; data keys need a symmetric encryption key"}
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

func (s *Server) opEncrypt(sc scope, body []byte, call *Call, out *any) *apiError {
	var in struct {
		KeyId               string
		Plaintext           []byte
		EncryptionContext   map[string]string
		GrantTokens         []string
		EncryptionAlgorithm string
		DryRun              bool
	}
	if err := decode(body, &in); err != nil {
		return err
	}
	if err := checkPlaintext(in.Plaintext); err != nil {
		return err
	}
	if err := checkGrantTokens(in.GrantTokens); err != nil {
		return err
	}
	if err := checkAlgorithm(&in.EncryptionAlgorithm); err != nil {
		return err
	}
	s.mu.Lock()
	k, err := s.usableLocked(sc, in.KeyId)
	s.mu.Unlock()
	if k != nil {
		call.KeyID = k.arn
	}
	if err != nil {
		return err
	}
	ct, err := encryptWith(k, in.Plaintext, in.EncryptionContext, in.EncryptionAlgorithm, in.DryRun)
	if err != nil {
		return err
	}
	*out = struct {
		CiphertextBlob      []byte
		KeyId               string
		EncryptionAlgorithm string
	}{ct, k.arn, in.EncryptionAlgorithm}
	return nil
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
			return nil, &apiError{typ: "KMSInternalException", msg: "kmstest: " + err.Error()}
		}
		return ct, nil
	}
	if dry {
		return nil, dryRun
	}
	return sealSymmetric(k, pt, ec), nil
}

func (s *Server) opDecrypt(sc scope, body []byte, call *Call, out *any) *apiError {
	var in struct {
		CiphertextBlob      []byte
		EncryptionContext   map[string]string
		GrantTokens         []string
		KeyId               string
		EncryptionAlgorithm string
		DryRun              bool
		Recipient           json.RawMessage
	}
	if err := decode(body, &in); err != nil {
		return err
	}
	if len(in.Recipient) > 0 && string(in.Recipient) != "null" {
		return unsupportedRecipient
	}
	if err := checkGrantTokens(in.GrantTokens); err != nil {
		return err
	}
	k, pt, err := s.decrypt(sc, in.CiphertextBlob, in.EncryptionContext, in.KeyId, &in.EncryptionAlgorithm, in.DryRun, call)
	if err != nil {
		return err
	}
	*out = struct {
		KeyId               string
		Plaintext           []byte
		EncryptionAlgorithm string
	}{k.arn, pt, in.EncryptionAlgorithm}
	return nil
}

// decrypt resolves the key of a ciphertext (from keyID, or for symmetric
// ciphertexts from the blob) and decrypts it.
func (s *Server) decrypt(sc scope, blob []byte, ec map[string]string, keyID string, alg *string, dry bool, call *Call) (*key, []byte, *apiError) {
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

	s.mu.Lock()
	var k *key
	var err *apiError
	switch {
	case keyID != "":
		k, err = s.lookupLocked(sc, keyID)
	case !wellFormed:
		err = &apiError{typ: "InvalidCiphertextException", msg: "The ciphertext is invalid or does not name a key"}
	default:
		// A multi-Region ciphertext decrypts under the replica in the
		// caller's region.
		ref := blobRef
		if strings.HasPrefix(ref.id, "mrk-") {
			ref.region = sc.region
		}
		k, err = s.lookupLocked(sc, keyARN(ref))
	}
	if err == nil {
		err = usable(k)
	}
	s.mu.Unlock()
	if k != nil {
		call.KeyID = k.arn
	}
	if err != nil {
		return nil, nil, err
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

func (s *Server) opReEncrypt(sc scope, body []byte, call *Call, out *any) *apiError {
	var in struct {
		CiphertextBlob                 []byte
		SourceEncryptionContext        map[string]string
		SourceKeyId                    string
		DestinationKeyId               string
		DestinationEncryptionContext   map[string]string
		SourceEncryptionAlgorithm      string
		DestinationEncryptionAlgorithm string
		GrantTokens                    []string
		DryRun                         bool
	}
	if err := decode(body, &in); err != nil {
		return err
	}
	if err := checkGrantTokens(in.GrantTokens); err != nil {
		return err
	}
	if err := checkAlgorithm(&in.DestinationEncryptionAlgorithm); err != nil {
		return err
	}
	var srcCall Call
	src, pt, err := s.decrypt(sc, in.CiphertextBlob, in.SourceEncryptionContext, in.SourceKeyId, &in.SourceEncryptionAlgorithm, false, &srcCall)
	if err != nil {
		call.KeyID = srcCall.KeyID
		return err
	}
	s.mu.Lock()
	dst, err := s.usableLocked(sc, in.DestinationKeyId)
	s.mu.Unlock()
	if dst != nil {
		call.KeyID = dst.arn
	}
	if err != nil {
		return err
	}
	if len(pt) > maxPlaintext {
		return validation("plaintext", "Member must have length less than or equal to 4096")
	}
	ct, err := encryptWith(dst, pt, in.DestinationEncryptionContext, in.DestinationEncryptionAlgorithm, in.DryRun)
	if err != nil {
		return err
	}
	*out = struct {
		CiphertextBlob                 []byte
		SourceKeyId                    string
		KeyId                          string
		SourceEncryptionAlgorithm      string
		DestinationEncryptionAlgorithm string
	}{ct, src.arn, dst.arn, in.SourceEncryptionAlgorithm, in.DestinationEncryptionAlgorithm}
	return nil
}

func (s *Server) opGetPublicKey(sc scope, body []byte, call *Call, out *any) *apiError {
	var in struct {
		KeyId       string
		GrantTokens []string
	}
	if err := decode(body, &in); err != nil {
		return err
	}
	if err := checkGrantTokens(in.GrantTokens); err != nil {
		return err
	}
	s.mu.Lock()
	k, err := s.usableLocked(sc, in.KeyId)
	s.mu.Unlock()
	if k != nil {
		call.KeyID = k.arn
	}
	if err != nil {
		return err
	}
	if k.mat.rsa == nil {
		return &apiError{typ: "UnsupportedOperationException", msg: k.arn + " is a symmetric key; it has no public key"}
	}
	der, merr := x509.MarshalPKIXPublicKey(&k.mat.rsa.PublicKey)
	if merr != nil {
		return &apiError{typ: "KMSInternalException", msg: "kmstest: " + merr.Error()}
	}
	*out = struct {
		KeyId                 string
		PublicKey             []byte
		CustomerMasterKeySpec string
		KeySpec               string
		KeyUsage              string
		EncryptionAlgorithms  []string
	}{k.arn, der, string(k.mat.spec), string(k.mat.spec), "ENCRYPT_DECRYPT", algorithms(k.mat.spec)}
	return nil
}

func (s *Server) opGenerateRandom(sc scope, body []byte, call *Call, out *any) *apiError {
	var in struct {
		NumberOfBytes    *int32
		CustomKeyStoreId string
		Recipient        json.RawMessage
	}
	if err := decode(body, &in); err != nil {
		return err
	}
	if len(in.Recipient) > 0 && string(in.Recipient) != "null" {
		return unsupportedRecipient
	}
	if in.CustomKeyStoreId != "" {
		return &apiError{typ: "UnsupportedOperationException", msg: "kmstest: custom key stores are not supported"}
	}
	if in.NumberOfBytes == nil || *in.NumberOfBytes < 1 || *in.NumberOfBytes > 1024 {
		return validation("numberOfBytes", "Member must have value between 1 and 1024")
	}
	b := make([]byte, *in.NumberOfBytes)
	rand.Read(b)
	*out = struct{ Plaintext []byte }{b}
	return nil
}

func enumStrings[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}
