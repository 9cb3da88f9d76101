package mongo_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	mongostore "github.com/orderflow/orderflow/infra/mongo"
)

func TestRedactURI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, uri, want string
	}{
		{"no credentials", "mongodb://127.0.0.1:27017/", "mongodb://127.0.0.1:27017/"},
		{"user and password", "mongodb://app:s3cr3t@db.example:27017/orders", "mongodb://db.example:27017/orders"},
		{"several hosts", "mongodb://app:pw@a:1,b:2,c:3/?replicaSet=rs0", "mongodb://a:1,b:2,c:3/"},
		{"options carry secrets", "mongodb://h/?tls=true&tlsCertificateKeyFilePassword=hunter2", "mongodb://h/"},
		{"encoded @ in the password", "mongodb://app:p%40ss@h:27017", "mongodb://h:27017"},
		{"unencoded @ in the password", "mongodb://app:p@ss@h:27017", "mongodb://h:27017"},
		{"srv", "mongodb+srv://app:pw@cluster0.example.net/?retryWrites=true", "mongodb+srv://cluster0.example.net/"},
		{"not a URI", "app:pw@h", "(not a mongodb:// URI)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, mongostore.RedactURI(tt.uri))
		})
	}
}
