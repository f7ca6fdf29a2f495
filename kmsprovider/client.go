package kmsprovider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// GenerateDataKeyAPI is the KMS GenerateDataKey operation.
type GenerateDataKeyAPI interface {
	GenerateDataKey(ctx context.Context, params *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
}

// EncryptAPI is the KMS Encrypt operation.
type EncryptAPI interface {
	Encrypt(ctx context.Context, params *kms.EncryptInput, optFns ...func(*kms.Options)) (*kms.EncryptOutput, error)
}

// DecryptAPI is the KMS Decrypt operation: all that the discovery
// keyrings and the decrypting side of the RSA keyring call.
type DecryptAPI interface {
	Decrypt(ctx context.Context, params *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// GetPublicKeyAPI is the KMS GetPublicKey operation, used by
// [FetchPublicKey].
type GetPublicKeyAPI interface {
	GetPublicKey(ctx context.Context, params *kms.GetPublicKeyInput, optFns ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error)
}

// Client is the part of the KMS API that the symmetric keyrings call.
// A *kms.Client satisfies it, and so does any fake with these methods.
type Client interface {
	GenerateDataKeyAPI
	EncryptAPI
	DecryptAPI
}

var (
	_ Client          = (*kms.Client)(nil)
	_ GetPublicKeyAPI = (*kms.Client)(nil)
)

// ClientSupplier gives the multi-keyring constructors a KMS client per region.
type ClientSupplier interface {
	// Client returns the client for region. The empty region asks for
	// the supplier's default region.
	Client(region string) (Client, error)
}

// ClientSupplierFunc adapts a function to a [ClientSupplier].
type ClientSupplierFunc func(region string) (Client, error)

// Client calls f(region).
func (f ClientSupplierFunc) Client(region string) (Client, error) { return f(region) }

// RegionalClients is a [ClientSupplier] that makes one *kms.Client per
// region from an aws.Config, on first use, and reuses it after. Every
// client shares the config's credentials, HTTP client and retryer
// settings; the region is the only difference. It is safe for concurrent
// use.
type RegionalClients struct {
	cfg    aws.Config
	optFns []func(*kms.Options)

	mu      sync.Mutex
	clients map[string]*kms.Client
}

var _ ClientSupplier = (*RegionalClients)(nil)

// NewRegionalClients returns a supplier of clients made with
// kms.NewFromConfig(cfg, optFns...) and the region asked for. The empty
// region means cfg.Region, which config.LoadDefaultConfig fills from the
// environment or the shared config files. It takes what kms.NewFromConfig
// takes, rather than an options struct of its own, since every client it
// makes is one kms.NewFromConfig makes.
func NewRegionalClients(cfg aws.Config, optFns ...func(*kms.Options)) *RegionalClients {
	return &RegionalClients{cfg: cfg, optFns: slices.Clone(optFns), clients: make(map[string]*kms.Client)}
}

// KMSClient returns the *kms.Client for region, making it on first use.
func (s *RegionalClients) KMSClient(region string) (*kms.Client, error) {
	if region == "" {
		region = s.cfg.Region
	}
	if region == "" {
		return nil, errors.New("esdk/kmsprovider: no region: the key identifier is not an ARN and the aws.Config has no region")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.clients[region]; ok {
		return c, nil
	}
	fns := append(slices.Clone(s.optFns), func(o *kms.Options) { o.Region = region })
	c := kms.NewFromConfig(s.cfg, fns...)
	s.clients[region] = c
	return c, nil
}

// Client returns KMSClient(region) as a [Client].
func (s *RegionalClients) Client(region string) (Client, error) {
	c, err := s.KMSClient(region)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// clientRegion returns the region a client is configured for, when it
// tells (a *kms.Client does).
func clientRegion(c any) (string, bool) {
	if o, ok := c.(interface{ Options() kms.Options }); ok {
		return o.Options().Region, true
	}
	return "", false
}

// supplied calls s.Client and checks its answer.
func supplied(s ClientSupplier, region string) (Client, error) {
	c, err := s.Client(region)
	if err != nil {
		return nil, fmt.Errorf("esdk/kmsprovider: client for region %q: %w", region, err)
	}
	if isNil(c) {
		return nil, fmt.Errorf("esdk/kmsprovider: the client supplier returned no client for region %q", region)
	}
	return c, nil
}
