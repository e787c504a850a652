package pkcs11

import (
	"crypto"
	"crypto/sha256"
	"testing"

	p11 "github.com/miekg/pkcs11"

	"github.com/ceremony-tuf/ceremony/hsm"
)

// BenchmarkSign compares, on the same SoftHSM key, a signature through
// hsm/pkcs11 with a bare C_SignInit + C_Sign loop through miekg/pkcs11:
//
//   - bare: miekg/pkcs11 on a session of its own, raw output;
//   - hsm-noverify: the Signer without its software check, which measures
//     what the layer itself costs (lock, mechanism, DER conversion);
//   - hsm: the Signer as ceremony uses it, every signature verified in
//     software before it is returned.
func BenchmarkSign(b *testing.B) {
	for _, kt := range []hsm.KeyType{hsm.ECDSAP256, hsm.Ed25519} {
		b.Run(string(kt), func(b *testing.B) {
			uri := "pkcs11:token=bench;object=bench-" + string(kt)
			keys, err := Default().Keys(ctx, uri, hsm.Auth{})
			if err != nil {
				b.Fatal(err)
			}
			if len(keys) == 0 {
				if _, err := Default().Generate(ctx, uri, kt, hsm.GenerateOptions{}, goodAuth()); err != nil {
					b.Fatal(err)
				}
			}
			s, err := Default().Signer(ctx, uri, goodAuth())
			if err != nil {
				b.Fatal(err)
			}
			sg := s.(*signer)
			var in []byte
			var opts crypto.SignerOpts = crypto.Hash(0)
			mech := []*p11.Mechanism{p11.NewMechanism(ckmEdDSA, nil)}
			if kt == hsm.ECDSAP256 {
				d := sha256.Sum256(message)
				in, opts = d[:], crypto.SHA256
				mech = []*p11.Mechanism{p11.NewMechanism(p11.CKM_ECDSA, nil)}
			} else {
				in = message
			}

			b.Run("bare", func(b *testing.B) {
				c := sg.tok.mod.ctx
				sess, err := c.OpenSession(sg.tok.slot, p11.CKF_SERIAL_SESSION)
				if err != nil {
					b.Fatal(err)
				}
				defer c.CloseSession(sess)
				// The login is the application's, so this session sees the
				// private key too.
				if err := c.FindObjectsInit(sess, sg.find); err != nil {
					b.Fatal(err)
				}
				hs, _, err := c.FindObjects(sess, 2)
				c.FindObjectsFinal(sess)
				if err != nil || len(hs) != 1 {
					b.Fatalf("find key: %v, %d", err, len(hs))
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := c.SignInit(sess, mech, hs[0]); err != nil {
						b.Fatal(err)
					}
					if _, err := c.Sign(sess, in); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("hsm-noverify", func(b *testing.B) {
				nv := newSigner(sg.tok, sg.priv, sg.find, sg.auth, sg.key)
				nv.verify = false
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := nv.Sign(nil, in, opts); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("hsm", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if _, err := s.Sign(nil, in, opts); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
