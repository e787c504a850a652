package main

// The PIV backend registers itself with hsm in its init, so that
// 'ceremony devices' and 'ceremony keys …' reach YubiKeys through piv: URIs.
import _ "github.com/ceremony-tuf/ceremony/hsm/piv"
