package main

// The PKCS#11 backend registers itself with hsm in its init, so that
// 'ceremony devices' and 'ceremony keys …' reach SoftHSM, YubiHSM 2,
// Nitrokey HSM and other tokens through pkcs11: URIs.
import _ "github.com/ceremony-tuf/ceremony/hsm/pkcs11"
