package keystore_test

import "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

type dynamodbAttr = types.AttributeValue

func str(s string) dynamodbAttr { return &types.AttributeValueMemberS{Value: s} }
func num(s string) dynamodbAttr { return &types.AttributeValueMemberN{Value: s} }
func bin(b []byte) dynamodbAttr { return &types.AttributeValueMemberB{Value: b} }
func sOf(a dynamodbAttr) string { return a.(*types.AttributeValueMemberS).Value }
func bOf(a dynamodbAttr) []byte { return a.(*types.AttributeValueMemberB).Value }
