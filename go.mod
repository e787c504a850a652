module github.com/ceremony-tuf/ceremony

go 1.26.0

require (
	github.com/rogpeppe/go-internal v1.16.0
	golang.org/x/term v0.48.0
)

require (
	filippo.io/edwards25519 v1.2.0 // indirect
	github.com/go-piv/piv-go/v2 v2.6.0 // indirect
	github.com/miekg/pkcs11 v1.1.2 // indirect
	github.com/theupdateframework/go-tuf/v2 v2.4.2 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/tools v0.52.0 // indirect
)
