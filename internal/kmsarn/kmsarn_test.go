package kmsarn

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	a, err := Parse("arn:aws:kms:us-west-2:111122223333:key/mrk-1234")
	require.NoError(t, err)
	require.Equal(t, ARN{"aws", "us-west-2", "111122223333", "key", "mrk-1234"}, a)
	require.True(t, a.IsMRK())
	require.Equal(t, "arn:aws:kms:us-west-2:111122223333:key/mrk-1234", a.String())
	require.Equal(t, "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234", a.WithRegion("eu-west-1").String())
	require.Equal(t, "us-west-2", a.Region, "WithRegion returns a copy")

	a, err = Parse("arn:aws-cn:kms:cn-north-1:111122223333:alias/mrk-a/b")
	require.NoError(t, err)
	require.Equal(t, "mrk-a/b", a.ResourceID, "a resource id keeps further slashes")
	require.False(t, a.IsMRK(), "an alias is never a multi-Region key")
	require.Equal(t, "arn:aws-cn:kms:cn-north-1:111122223333:alias/mrk-a/b", a.String())

	for _, s := range []string{
		"",
		"arn:aws:kms:us-west-2:111122223333",
		"arn:aws:kms:us-west-2:111122223333:key/x:y",
		"arx:aws:kms:us-west-2:111122223333:key/x",
		"arn::kms:us-west-2:111122223333:key/x",
		"arn:aws:s3:us-west-2:111122223333:key/x",
		"arn:aws:kms::111122223333:key/x",
		"arn:aws:kms:us-west-2::key/x",
		"arn:aws:kms:us-west-2:111122223333:",
		"arn:aws:kms:us-west-2:111122223333:key",
		"arn:aws:kms:us-west-2:111122223333:key/",
		"arn:aws:kms:us-west-2:111122223333:grant/x",
	} {
		_, err := Parse(s)
		require.Error(t, err, "%q", s)
		require.ErrorContains(t, err, "is not an AWS KMS ARN", "%q", s)
		_, err = ParseKey(s)
		require.Error(t, err, "%q", s)
	}
	_, err = ParseKey("arn:aws:kms:us-west-2:111122223333:alias/x")
	require.ErrorContains(t, err, "is an alias ARN, not a key ARN")
	a, err = ParseKey("arn:aws:kms:us-west-2:111122223333:key/k")
	require.NoError(t, err)
	require.Equal(t, ARN{"aws", "us-west-2", "111122223333", "key", "k"}, a)
}

func TestMRKMatch(t *testing.T) {
	const (
		mrkWest   = "arn:aws:kms:us-west-2:111122223333:key/mrk-1"
		mrkEast   = "arn:aws:kms:us-east-1:111122223333:key/mrk-1"
		mrkOther  = "arn:aws:kms:us-east-1:444455556666:key/mrk-1"
		mrk2      = "arn:aws:kms:us-east-1:111122223333:key/mrk-2"
		srk       = "arn:aws:kms:us-west-2:111122223333:key/k"
		srkEast   = "arn:aws:kms:us-east-1:111122223333:key/k"
		mrkCN     = "arn:aws-cn:kms:cn-north-1:111122223333:key/mrk-1"
		aliasWest = "arn:aws:kms:us-west-2:111122223333:alias/mrk-1"
		aliasEast = "arn:aws:kms:us-east-1:111122223333:alias/mrk-1"
	)
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{mrkWest, mrkWest, true},
		{mrkWest, mrkEast, true},
		{mrkWest, mrkOther, false},
		{mrkWest, mrk2, false},
		{mrkWest, mrkCN, false},
		{srk, srk, true},
		{srk, srkEast, false},
		{aliasWest, mrkWest, false},
		{aliasWest, aliasWest, true},
		{aliasWest, aliasEast, false},
	} {
		a, err := Parse(c.a)
		require.NoError(t, err)
		b, err := Parse(c.b)
		require.NoError(t, err)
		require.Equal(t, c.want, MRKMatch(a, b), "%s vs %s", c.a, c.b)
		require.Equal(t, c.want, MRKMatch(b, a), "%s vs %s", c.b, c.a)
	}
}
