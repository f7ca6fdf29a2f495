package keystore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/go-esdk/esdk/internal/kmsarn"
	"github.com/go-esdk/esdk/kmsprovider"
)

// DynamoDBAPI is the part of the DynamoDB API the store calls. A
// *dynamodb.Client satisfies it. A store that only reads branch keys
// calls GetItem alone.
type DynamoDBAPI interface {
	GetItem(ctx context.Context, params *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	TransactWriteItems(ctx context.Context, params *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	DescribeTable(ctx context.Context, params *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	CreateTable(ctx context.Context, params *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
}

// KMSAPI is the part of the AWS KMS API the store calls: Decrypt to read
// branch keys, GenerateDataKeyWithoutPlaintext and ReEncrypt to create
// and version them. A *kms.Client satisfies it.
type KMSAPI interface {
	kmsprovider.DecryptAPI
	GenerateDataKeyWithoutPlaintext(ctx context.Context, params *kms.GenerateDataKeyWithoutPlaintextInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyWithoutPlaintextOutput, error)
	ReEncrypt(ctx context.Context, params *kms.ReEncryptInput, optFns ...func(*kms.Options)) (*kms.ReEncryptOutput, error)
}

var (
	_ DynamoDBAPI = (*dynamodb.Client)(nil)
	_ KMSAPI      = (*kms.Client)(nil)
)

// KMSConfiguration says which AWS KMS key or keys protect a store's
// branch keys. Exactly one field is set.
type KMSConfiguration struct {
	// KeyARN is a KMS key ARN (not an alias): branch keys are created
	// under it, and read only when their kms-arn is exactly it.
	KeyARN string
	// MRKKeyARN is a KMS key ARN (not an alias) read with multi-Region
	// key compatibility: branch keys whose kms-arn is a replica of it in
	// another region are read too, calling this ARN. Branch keys are
	// created under it.
	MRKKeyARN string
	// Discovery reads branch keys under whatever key ARN their kms-arn
	// names, calling it as it is. Such a store cannot create or version
	// branch keys.
	Discovery bool
	// MRDiscoveryRegion reads branch keys under whatever key ARN their
	// kms-arn names, calling a multi-Region key's replica in this region.
	// Such a store cannot create or version branch keys.
	MRDiscoveryRegion string
}

// String describes the configuration.
func (c KMSConfiguration) String() string {
	switch {
	case c.KeyARN != "":
		return "KMS key " + c.KeyARN
	case c.MRKKeyARN != "":
		return "KMS multi-Region key " + c.MRKKeyARN
	case c.MRDiscoveryRegion != "":
		return "KMS multi-Region discovery in " + c.MRDiscoveryRegion
	case c.Discovery:
		return "KMS discovery"
	}
	return "no KMS configuration"
}

// StoreOptions configure a [Store] (see [NewStore]).
type StoreOptions struct {
	// TableName is the DynamoDB table of the branch keys. Required.
	TableName string
	// LogicalKeyStoreName is bound to every branch key (KMS
	// authenticates it) and names the store in the hierarchical
	// keyring's cache ids. Required. Keep one name per physical table,
	// and the same name for every client of that table: a table restored
	// from a backup under another table name still reads under its
	// logical name.
	LogicalKeyStoreName string
	// KMS says which KMS key or keys protect the branch keys. Required.
	KMS KMSConfiguration
	// DynamoDB calls the table. Required: a *dynamodb.Client of the
	// table's region.
	DynamoDB DynamoDBAPI
	// KMSClient calls AWS KMS. Required: a *kms.Client of the KMS key's
	// region (of MRDiscoveryRegion for that configuration).
	KMSClient KMSAPI
	// GrantTokens are sent with every KMS call. The store keeps its own
	// copy.
	GrantTokens []string
	// ID identifies this store; empty means a random UUID.
	ID string
	// Now is the clock the create-time of new branch keys is read from;
	// nil means time.Now.
	Now func() time.Time
}

// Store is the branch key store of the AWS Encryption SDK specification
// (framework/branch-key-store.md) on an Amazon DynamoDB table: branch
// keys and beacon keys encrypted under AWS KMS, read, created and
// versioned with the item layout, encryption contexts and conditions of
// the other SDKs, so that they share tables. A Store is safe for
// concurrent use.
type Store struct {
	table, logicalName, id string
	kmsConfig              KMSConfiguration
	configured             kmsarn.ARN // the configured key ARN (strict configurations)
	strict, mrk            bool
	ddb                    DynamoDBAPI
	kms                    KMSAPI
	grantTokens            []string
	now                    func() time.Time
}

var _ BranchKeyStore = (*Store)(nil)

// NewStore returns a branch key store. It copies o and applies optFns to
// the copy in order. TableName, LogicalKeyStoreName, KMS, DynamoDB and
// KMSClient are required: unlike the specification, the store makes no
// AWS clients of its own, since a Go program loads its aws.Config itself.
// A strict KMS configuration (KeyARN or MRKKeyARN) must be a valid key
// ARN, never an alias.
func NewStore(o StoreOptions, optFns ...func(*StoreOptions)) (*Store, error) {
	for _, f := range optFns {
		f(&o)
	}
	switch {
	case o.TableName == "":
		return nil, errors.New("esdk/keystore: StoreOptions.TableName is required (the DynamoDB table of the branch keys)")
	case o.LogicalKeyStoreName == "":
		return nil, errors.New("esdk/keystore: StoreOptions.LogicalKeyStoreName is required (the name bound to every branch key)")
	case !utf8.ValidString(o.LogicalKeyStoreName):
		return nil, errors.New("esdk/keystore: StoreOptions.LogicalKeyStoreName must be valid UTF-8")
	case isNil(o.DynamoDB):
		return nil, errors.New("esdk/keystore: StoreOptions.DynamoDB is required (a DynamoDB client of the table's region)")
	case isNil(o.KMSClient):
		return nil, errors.New("esdk/keystore: StoreOptions.KMSClient is required (a KMS client)")
	}
	s := &Store{
		table: o.TableName, logicalName: o.LogicalKeyStoreName, id: o.ID,
		kmsConfig: o.KMS, ddb: o.DynamoDB, kms: o.KMSClient,
		grantTokens: slices.Clone(o.GrantTokens), now: o.Now,
	}
	set := 0
	for _, b := range []bool{o.KMS.KeyARN != "", o.KMS.MRKKeyARN != "", o.KMS.Discovery, o.KMS.MRDiscoveryRegion != ""} {
		if b {
			set++
		}
	}
	if set != 1 {
		return nil, fmt.Errorf("esdk/keystore: StoreOptions.KMS needs exactly one of KeyARN, MRKKeyARN, Discovery and MRDiscoveryRegion; %d are set", set)
	}
	if arn := o.KMS.KeyARN + o.KMS.MRKKeyARN; arn != "" {
		a, err := kmsarn.ParseKey(arn)
		if err != nil {
			field := "KeyARN"
			if o.KMS.MRKKeyARN != "" {
				field = "MRKKeyARN"
			}
			return nil, errorf("StoreOptions.KMS.%s must be an AWS KMS key ARN, never an alias: %w", field, err)
		}
		s.configured, s.strict, s.mrk = a, true, o.KMS.MRKKeyARN != ""
	}
	if s.id == "" {
		id, err := newUUID()
		if err != nil {
			return nil, err
		}
		s.id = id
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// StoreInfo describes a store (the specification's GetKeyStoreInfo).
type StoreInfo struct {
	ID                  string
	TableName           string
	LogicalKeyStoreName string
	GrantTokens         []string
	KMS                 KMSConfiguration
}

// Info returns the store's configuration.
func (s *Store) Info() StoreInfo {
	return StoreInfo{ID: s.id, TableName: s.table, LogicalKeyStoreName: s.logicalName, GrantTokens: slices.Clone(s.grantTokens), KMS: s.kmsConfig}
}

// LogicalKeyStoreName returns the store's logical name.
func (s *Store) LogicalKeyStoreName() string { return s.logicalName }

// String describes the store.
func (s *Store) String() string {
	return fmt.Sprintf("branch key store %q (table %s, %s)", s.logicalName, s.table, s.kmsConfig)
}

// userAgent adds the specification's user agent to every KMS call.
func userAgent(o *kms.Options) {
	o.APIOptions = append(o.APIOptions, awsmiddleware.AddUserAgentKey("aws-kms-hierarchy"))
}

// CreateKeyStore makes the store's table if it does not exist, with the
// branch key store's key schema (partition key branch-key-id, sort key
// type, both strings; on-demand capacity), and returns the table's ARN. A
// table that exists must have that key schema ([ErrTableSchema]).
// DynamoDB makes a new table ACTIVE a moment later: wait for it (with
// dynamodb.NewTableExistsWaiter) before the first CreateKey.
func (s *Store) CreateKeyStore(ctx context.Context) (string, error) {
	const op = "CreateKeyStore"
	desc, err := s.ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.table)})
	var table *types.TableDescription
	switch {
	case err == nil:
		table = desc.Table
	case errors.As(err, new(*types.ResourceNotFoundException)):
		out, err := s.ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName: aws.String(s.table),
			AttributeDefinitions: []types.AttributeDefinition{
				{AttributeName: aws.String(attrBranchKeyID), AttributeType: types.ScalarAttributeTypeS},
				{AttributeName: aws.String(attrType), AttributeType: types.ScalarAttributeTypeS},
			},
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(attrBranchKeyID), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(attrType), KeyType: types.KeyTypeRange},
			},
			BillingMode: types.BillingModePayPerRequest,
		})
		if err != nil {
			return "", s.ddbError(op, "", "", "CreateTable", err)
		}
		table = out.TableDescription
	default:
		return "", s.ddbError(op, "", "", "DescribeTable", err)
	}
	if table == nil {
		return "", &Error{Op: op, Kind: ErrDynamoDB, Detail: "DynamoDB described no table"}
	}
	if why := checkSchema(table); why != "" {
		return "", &Error{Op: op, Kind: ErrTableSchema, Detail: fmt.Sprintf("table %s: %s", s.table, why)}
	}
	arn := aws.ToString(table.TableArn)
	if name, ok := strings.CutPrefix(arn[strings.LastIndex(arn, ":")+1:], "table/"); !ok || name != s.table {
		return "", &Error{Op: op, Kind: ErrDynamoDB, Detail: fmt.Sprintf("DynamoDB answered with table ARN %q, not one of table %s", arn, s.table)}
	}
	return arn, nil
}

// checkSchema says what is wrong with a table's key schema, or "".
func checkSchema(t *types.TableDescription) string {
	want := map[string]types.KeyType{attrBranchKeyID: types.KeyTypeHash, attrType: types.KeyTypeRange}
	if len(t.KeySchema) != len(want) {
		return fmt.Sprintf("its key schema has %d attributes, want partition key %s and sort key %s", len(t.KeySchema), attrBranchKeyID, attrType)
	}
	for _, k := range t.KeySchema {
		name := aws.ToString(k.AttributeName)
		if want[name] != k.KeyType {
			return fmt.Sprintf("its key attribute %s is a %s key, want partition key %s and sort key %s", name, k.KeyType, attrBranchKeyID, attrType)
		}
	}
	for _, d := range t.AttributeDefinitions {
		if _, ok := want[aws.ToString(d.AttributeName)]; ok && d.AttributeType != types.ScalarAttributeTypeS {
			return fmt.Sprintf("its key attribute %s is of type %s, want S", aws.ToString(d.AttributeName), d.AttributeType)
		}
	}
	return ""
}

// CreateKeyOptions are the options of one CreateKey call.
type CreateKeyOptions struct {
	// BranchKeyID is the id of the new branch key; empty means a random
	// UUID. A caller's own id needs an EncryptionContext too (the
	// specification asks so), so that the key is bound to what the id
	// stands for.
	BranchKeyID string
	// EncryptionContext is the branch key's custom encryption context,
	// stored in its items as aws-crypto-ec:KEY attributes and
	// authenticated by KMS. The same context belongs to every version.
	EncryptionContext map[string]string
}

// WithBranchKeyID sets the id and custom encryption context of the new
// branch key.
func WithBranchKeyID(id string, ec map[string]string) func(*CreateKeyOptions) {
	return func(o *CreateKeyOptions) { o.BranchKeyID, o.EncryptionContext = id, ec }
}

// WithEncryptionContext sets the custom encryption context of the new
// branch key.
func WithEncryptionContext(ec map[string]string) func(*CreateKeyOptions) {
	return func(o *CreateKeyOptions) { o.EncryptionContext = ec }
}

// CreateKey creates a branch key and its beacon key and returns the
// branch key id: GenerateDataKeyWithoutPlaintext under the store's KMS key
// for the DECRYPT_ONLY version, ReEncrypt of it to the ACTIVE context,
// GenerateDataKeyWithoutPlaintext for the beacon key, then one
// TransactWriteItems of the three items, each on condition that the id
// does not exist yet ([ErrBranchKeyExists] when it does). A store with a
// discovery configuration returns [ErrReadOnly].
func (s *Store) CreateKey(ctx context.Context, optFns ...func(*CreateKeyOptions)) (string, error) {
	const op = "CreateKey"
	var o CreateKeyOptions
	for _, f := range optFns {
		f(&o)
	}
	if !s.strict {
		return "", &Error{Op: op, Kind: ErrReadOnly, Detail: s.kmsConfig.String()}
	}
	id := o.BranchKeyID
	if id == "" {
		var err error
		if id, err = newUUID(); err != nil {
			return "", err
		}
	} else if len(o.EncryptionContext) == 0 {
		return "", &Error{Op: op, BranchKeyID: id, Kind: errInvalidInput, Detail: "a caller's own branch key id needs an encryption context (CreateKeyOptions.EncryptionContext)"}
	}
	if !utf8.ValidString(id) {
		return "", &Error{Op: op, Kind: errInvalidInput, Detail: "the branch key id is not valid UTF-8"}
	}
	for k, v := range o.EncryptionContext {
		if k == "" || !utf8.ValidString(k) || !utf8.ValidString(v) {
			return "", &Error{Op: op, BranchKeyID: id, Kind: errInvalidInput, Detail: fmt.Sprintf("encryption context key %q: keys must be non-empty, keys and values valid UTF-8", k)}
		}
	}
	version, err := newUUID()
	if err != nil {
		return "", err
	}
	decryptOnly := decryptOnlyContext(id, version, s.timestamp(), s.logicalName, s.configured.String(), o.EncryptionContext)
	active := activeContext(decryptOnly)
	beacon := beaconContext(decryptOnly)

	wrappedVersion, wrappedActive, err := s.wrapBranchKey(ctx, op, id, version, decryptOnly, active)
	if err != nil {
		return "", err
	}
	wrappedBeacon, err := s.generate(ctx, op, id, "", beacon)
	if err != nil {
		return "", err
	}
	_, err = s.ddb.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		s.put(toItem(decryptOnly, wrappedVersion), condNotExists, nil),
		s.put(toItem(active, wrappedActive), condNotExists, nil),
		s.put(toItem(beacon, wrappedBeacon), condNotExists, nil),
	}})
	if err != nil {
		if conditionFailed(err, -1) {
			return "", &Error{Op: op, BranchKeyID: id, Kind: ErrBranchKeyExists, Err: err}
		}
		return "", s.ddbError(op, id, "", "TransactWriteItems", err)
	}
	return id, nil
}

// errInvalidInput is the kind of a caller's invalid argument.
var errInvalidInput = errors.New("esdk/keystore: invalid input")

// VersionKey rotates a branch key: it reads the active item, checks that
// its kms-arn is compatible with the store's KMS configuration and has
// KMS authenticate it (ReEncrypt to itself), creates a new version as
// CreateKey does, and writes the new version item and the new active item
// in one TransactWriteItems, on condition that the active item is still
// the one read ([ErrVersionConflict] when another VersionKey won). The
// stored kms-arn never changes. Messages under earlier versions still
// decrypt: their version items stay.
func (s *Store) VersionKey(ctx context.Context, branchKeyID string) error {
	const op = "VersionKey"
	if !s.strict {
		return &Error{Op: op, BranchKeyID: branchKeyID, Kind: ErrReadOnly, Detail: s.kmsConfig.String()}
	}
	it, err := s.getItem(ctx, op, branchKeyID, "", activeItem, true)
	if err != nil {
		return err
	}
	old := it.context
	out, err := s.kms.ReEncrypt(ctx, &kms.ReEncryptInput{
		CiphertextBlob:               it.enc,
		SourceEncryptionContext:      old,
		SourceKeyId:                  aws.String(s.configured.String()),
		DestinationKeyId:             aws.String(s.configured.String()),
		DestinationEncryptionContext: old,
		GrantTokens:                  s.grantTokens,
	}, userAgent)
	if err != nil {
		return s.kmsError(op, branchKeyID, it.version, "ReEncrypt (authenticating the active item)", err)
	}
	if err := s.checkReEncrypt(out); err != nil {
		return &Error{Op: op, BranchKeyID: branchKeyID, Kind: ErrKMS, Detail: err.Error()}
	}
	version, err := newUUID()
	if err != nil {
		return err
	}
	decryptOnly := maps.Clone(old)
	delete(decryptOnly, attrVersion)
	decryptOnly[attrType] = typeVersionPrefix + version
	decryptOnly[attrCreateTime] = s.timestamp()
	active := activeContext(decryptOnly)
	wrappedVersion, wrappedActive, err := s.wrapBranchKey(ctx, op, branchKeyID, version, decryptOnly, active)
	if err != nil {
		return err
	}
	_, err = s.ddb.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		s.put(toItem(decryptOnly, wrappedVersion), condNotExists, nil),
		s.put(toItem(active, wrappedActive), condActiveUnchanged, map[string]types.AttributeValue{":encOld": &types.AttributeValueMemberB{Value: it.enc}}),
	}})
	if err != nil {
		if conditionFailed(err, 1) {
			return &Error{Op: op, BranchKeyID: branchKeyID, Kind: ErrVersionConflict, Err: err}
		}
		return s.ddbError(op, branchKeyID, version, "TransactWriteItems", err)
	}
	return nil
}

// The conditions of the writes. The attribute names go through #names:
// branch-key-id has a hyphen, and DynamoDB reserves many plain words.
const (
	condNotExists       = "attribute_not_exists(#bkid)"
	condActiveUnchanged = "attribute_exists(#bkid) AND #enc = :encOld"
)

func (s *Store) put(item map[string]types.AttributeValue, cond string, values map[string]types.AttributeValue) types.TransactWriteItem {
	names := map[string]string{"#bkid": attrBranchKeyID}
	if strings.Contains(cond, "#enc") {
		names["#enc"] = attrEnc
	}
	return types.TransactWriteItem{Put: &types.Put{
		TableName:                 aws.String(s.table),
		Item:                      item,
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	}}
}

// conditionFailed reports whether err is a cancelled transaction whose
// action i (any action when i < 0) failed its condition.
func conditionFailed(err error, i int) bool {
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) {
		return false
	}
	for j, r := range tc.CancellationReasons {
		if (i < 0 || i == j) && aws.ToString(r.Code) == "ConditionalCheckFailed" {
			return true
		}
	}
	return false
}

// timestamp is the create-time of a new version: ISO 8601 in UTC to the
// microsecond, as the specification writes it.
func (s *Store) timestamp() string { return s.now().UTC().Format("2006-01-02T15:04:05.000000Z") }

// wrapBranchKey makes the wrapped DECRYPT_ONLY and ACTIVE keys of a new
// version (the specification's Wrapped Branch Key Creation).
func (s *Store) wrapBranchKey(ctx context.Context, op, id, version string, decryptOnly, active map[string]string) (wrappedVersion, wrappedActive []byte, err error) {
	wrappedVersion, err = s.generate(ctx, op, id, version, decryptOnly)
	if err != nil {
		return nil, nil, err
	}
	out, err := s.kms.ReEncrypt(ctx, &kms.ReEncryptInput{
		CiphertextBlob:               wrappedVersion,
		SourceEncryptionContext:      decryptOnly,
		SourceKeyId:                  aws.String(s.configured.String()),
		DestinationKeyId:             aws.String(s.configured.String()),
		DestinationEncryptionContext: active,
		GrantTokens:                  s.grantTokens,
	}, userAgent)
	if err != nil {
		return nil, nil, s.kmsError(op, id, version, "ReEncrypt", err)
	}
	if err := s.checkReEncrypt(out); err != nil {
		return nil, nil, &Error{Op: op, BranchKeyID: id, Version: version, Kind: ErrKMS, Detail: err.Error()}
	}
	return wrappedVersion, out.CiphertextBlob, nil
}

func (s *Store) checkReEncrypt(out *kms.ReEncryptOutput) error {
	want := s.configured.String()
	if aws.ToString(out.SourceKeyId) != want || aws.ToString(out.KeyId) != want {
		return fmt.Errorf("ReEncrypt answered for keys %q to %q, not %q", aws.ToString(out.SourceKeyId), aws.ToString(out.KeyId), want)
	}
	if n := len(out.CiphertextBlob); n == 0 || n > maxCiphertextLength {
		return fmt.Errorf("ReEncrypt returned a %d-byte ciphertext", n)
	}
	return nil
}

// generate calls GenerateDataKeyWithoutPlaintext for a 32-byte key under
// the configured KMS key and the encryption context ec.
func (s *Store) generate(ctx context.Context, op, id, version string, ec map[string]string) ([]byte, error) {
	out, err := s.kms.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{
		KeyId:             aws.String(s.configured.String()),
		NumberOfBytes:     aws.Int32(branchKeyLength),
		EncryptionContext: ec,
		GrantTokens:       s.grantTokens,
	}, userAgent)
	if err != nil {
		return nil, s.kmsError(op, id, version, "GenerateDataKeyWithoutPlaintext", err)
	}
	if got := aws.ToString(out.KeyId); got != s.configured.String() {
		return nil, &Error{Op: op, BranchKeyID: id, Version: version, Kind: ErrKMS, Detail: fmt.Sprintf("GenerateDataKeyWithoutPlaintext answered for key %q, not %q", got, s.configured)}
	}
	if n := len(out.CiphertextBlob); n == 0 || n > maxCiphertextLength {
		return nil, &Error{Op: op, BranchKeyID: id, Version: version, Kind: ErrKMS, Detail: fmt.Sprintf("GenerateDataKeyWithoutPlaintext returned a %d-byte ciphertext", n)}
	}
	return out.CiphertextBlob, nil
}

// GetActiveBranchKey returns the active version of a branch key: the
// branch:ACTIVE item, checked against the specification and against the
// store's KMS configuration, decrypted by KMS under its encryption
// context. The caller owns the returned materials (zero BranchKey when
// done with it).
func (s *Store) GetActiveBranchKey(ctx context.Context, branchKeyID string) (*BranchKeyMaterials, error) {
	return s.getBranchKey(ctx, "GetActiveBranchKey", branchKeyID, "", activeItem)
}

// GetBranchKeyVersion returns one version of a branch key, from its
// branch:version: item, checked and decrypted as GetActiveBranchKey does.
func (s *Store) GetBranchKeyVersion(ctx context.Context, branchKeyID, version string) (*BranchKeyMaterials, error) {
	const op = "GetBranchKeyVersion"
	if _, err := parseUUID(version); err != nil {
		return nil, &Error{Op: op, BranchKeyID: branchKeyID, Version: version, Kind: errInvalidInput, Detail: "the version is " + err.Error()}
	}
	return s.getBranchKey(ctx, op, branchKeyID, version, versionItem)
}

// GetBeaconKey returns a branch key's beacon key, from its beacon:ACTIVE
// item, checked and decrypted as GetActiveBranchKey does.
func (s *Store) GetBeaconKey(ctx context.Context, branchKeyID string) (*BeaconKeyMaterials, error) {
	const op = "GetBeaconKey"
	it, err := s.getItem(ctx, op, branchKeyID, "", beaconItem, false)
	if err != nil {
		return nil, err
	}
	key, err := s.decrypt(ctx, op, branchKeyID, "", it)
	if err != nil {
		return nil, err
	}
	return &BeaconKeyMaterials{BeaconKeyID: branchKeyID, BeaconKey: key, EncryptionContext: customContext(it.context)}, nil
}

func (s *Store) getBranchKey(ctx context.Context, op, id, version string, kind itemKind) (*BranchKeyMaterials, error) {
	it, err := s.getItem(ctx, op, id, version, kind, false)
	if err != nil {
		return nil, err
	}
	key, err := s.decrypt(ctx, op, id, it.version, it)
	if err != nil {
		return nil, err
	}
	return &BranchKeyMaterials{BranchKeyID: id, BranchKeyVersion: it.version, BranchKey: key, EncryptionContext: customContext(it.context)}, nil
}

// getItem reads one item and checks it, and its kms-arn against the
// configuration.
func (s *Store) getItem(ctx context.Context, op, id, version string, kind itemKind, consistent bool) (*checkedItem, error) {
	if id == "" {
		return nil, &Error{Op: op, Kind: errInvalidInput, Detail: "the branch key id is empty"}
	}
	sort := map[itemKind]string{activeItem: typeActive, versionItem: typeVersionPrefix + version, beaconItem: typeBeacon}[kind]
	out, err := s.ddb.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table),
		Key: map[string]types.AttributeValue{
			attrBranchKeyID: &types.AttributeValueMemberS{Value: id},
			attrType:        &types.AttributeValueMemberS{Value: sort},
		},
		ConsistentRead: aws.Bool(consistent),
	})
	if err != nil {
		return nil, s.ddbError(op, id, version, "GetItem", err)
	}
	if len(out.Item) == 0 {
		return nil, &Error{Op: op, BranchKeyID: id, Version: version, Kind: ErrBranchKeyNotFound, Detail: fmt.Sprintf("table %s has no item %s", s.table, sort)}
	}
	it, why := checkItem(out.Item, kind, id, version, s.logicalName)
	if why != "" {
		return nil, &Error{Op: op, BranchKeyID: id, Version: version, Kind: ErrInvalidItem, Detail: fmt.Sprintf("item %s of table %s: %s", sort, s.table, why)}
	}
	if s.strict {
		ok := it.kmsARN == s.configured
		if s.mrk {
			ok = kmsarn.MRKMatch(s.configured, it.kmsARN)
		}
		if !ok {
			return nil, &Error{Op: op, BranchKeyID: id, Version: it.version, Kind: ErrKMSARNMismatch, Detail: fmt.Sprintf("the item's kms-arn is %s; the store is configured with %s", it.kmsARN, s.kmsConfig)}
		}
	}
	return it, nil
}

// decrypt has KMS decrypt an item's enc under its encryption context.
func (s *Store) decrypt(ctx context.Context, op, id, version string, it *checkedItem) ([]byte, error) {
	keyID := s.configured
	switch {
	case s.kmsConfig.Discovery:
		keyID = it.kmsARN
	case s.kmsConfig.MRDiscoveryRegion != "":
		keyID = it.kmsARN
		if keyID.IsMRK() {
			keyID = keyID.WithRegion(s.kmsConfig.MRDiscoveryRegion)
		}
	}
	out, err := s.kms.Decrypt(ctx, &kms.DecryptInput{
		KeyId:             aws.String(keyID.String()),
		CiphertextBlob:    it.enc,
		EncryptionContext: it.context,
		GrantTokens:       s.grantTokens,
	}, userAgent)
	if err != nil {
		return nil, s.kmsError(op, id, version, "Decrypt", err)
	}
	if got := aws.ToString(out.KeyId); got != keyID.String() {
		clear(out.Plaintext)
		return nil, &Error{Op: op, BranchKeyID: id, Version: version, Kind: ErrKMS, Detail: fmt.Sprintf("Decrypt answered for key %q, not the %q asked for", got, keyID)}
	}
	if len(out.Plaintext) != branchKeyLength {
		clear(out.Plaintext)
		return nil, &Error{Op: op, BranchKeyID: id, Version: version, Kind: ErrKMS, Detail: fmt.Sprintf("Decrypt returned a %d-byte key, want %d", len(out.Plaintext), branchKeyLength)}
	}
	return out.Plaintext, nil
}

func (s *Store) ddbError(op, id, version, call string, err error) error {
	kind := ErrDynamoDB
	if errors.As(err, new(*types.ResourceNotFoundException)) {
		kind = ErrTableNotFound
	}
	return &Error{Op: op, BranchKeyID: id, Version: version, Kind: kind, Detail: fmt.Sprintf("DynamoDB %s on table %s", call, s.table), Err: err}
}

func (s *Store) kmsError(op, id, version, call string, err error) error {
	return &Error{Op: op, BranchKeyID: id, Version: version, Kind: ErrKMS, Detail: "KMS " + call, Err: err}
}

// BranchKeyMaterials is one version of a branch key (the specification's
// structures.md, Branch Key Materials).
type BranchKeyMaterials struct {
	BranchKeyID string
	// BranchKeyVersion is the version, a UUID in canonical form.
	BranchKeyVersion string
	// BranchKey is the 32-byte key.
	BranchKey []byte
	// EncryptionContext is the branch key's custom encryption context
	// (without the aws-crypto-ec: prefix).
	EncryptionContext map[string]string
}

// Clone returns a deep copy of m.
func (m *BranchKeyMaterials) Clone() *BranchKeyMaterials {
	c := *m
	c.BranchKey = bytes.Clone(m.BranchKey)
	c.EncryptionContext = maps.Clone(m.EncryptionContext)
	return &c
}

// BeaconKeyMaterials is a branch key's beacon key, used by searchable
// encryption.
type BeaconKeyMaterials struct {
	BeaconKeyID       string
	BeaconKey         []byte
	EncryptionContext map[string]string
}
