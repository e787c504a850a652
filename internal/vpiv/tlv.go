package vpiv

import (
	"errors"
	"fmt"
)

// tlv is one BER-TLV element as PIV uses them: a tag of one to three bytes
// and a definite length.
type tlv struct {
	tag   uint32
	value []byte
}

var errTLV = errors.New("malformed TLV")

// parseTLVs splits b into its top-level TLV elements. It never panics: a
// card that crashes on a malformed command would be a worse stand-in than
// one that answers 6A80.
func parseTLVs(b []byte) ([]tlv, error) {
	var out []tlv
	for len(b) > 0 {
		t, rest, err := parseTLV(b)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
		b = rest
	}
	return out, nil
}

func parseTLV(b []byte) (tlv, []byte, error) {
	if len(b) < 2 {
		return tlv{}, nil, fmt.Errorf("%w: %d bytes", errTLV, len(b))
	}
	tag := uint32(b[0])
	i := 1
	if b[0]&0x1f == 0x1f {
		for {
			if i >= len(b) || i > 3 {
				return tlv{}, nil, fmt.Errorf("%w: tag too long", errTLV)
			}
			tag = tag<<8 | uint32(b[i])
			i++
			if b[i-1]&0x80 == 0 {
				break
			}
		}
	}
	if i >= len(b) {
		return tlv{}, nil, fmt.Errorf("%w: no length", errTLV)
	}
	l := int(b[i])
	i++
	if l > 0x80 {
		n := l & 0x7f
		if n > 3 || i+n > len(b) {
			return tlv{}, nil, fmt.Errorf("%w: bad length", errTLV)
		}
		l = 0
		for j := 0; j < n; j++ {
			l = l<<8 | int(b[i+j])
		}
		i += n
	} else if l == 0x80 {
		return tlv{}, nil, fmt.Errorf("%w: indefinite length", errTLV)
	}
	if l > len(b)-i {
		return tlv{}, nil, fmt.Errorf("%w: length %d exceeds %d bytes", errTLV, l, len(b)-i)
	}
	return tlv{tag: tag, value: b[i : i+l]}, b[i+l:], nil
}

// find returns the value of the first element with tag.
func find(ts []tlv, tag uint32) ([]byte, bool) {
	for _, t := range ts {
		if t.tag == tag {
			return t.value, true
		}
	}
	return nil, false
}

// encLen encodes a BER definite length.
func encLen(n int) []byte {
	switch {
	case n < 0x80:
		return []byte{byte(n)}
	case n < 0x100:
		return []byte{0x81, byte(n)}
	case n < 0x10000:
		return []byte{0x82, byte(n >> 8), byte(n)}
	default:
		return []byte{0x83, byte(n >> 16), byte(n >> 8), byte(n)}
	}
}

// enc encodes one TLV; tag may be one, two or three bytes.
func enc(tag uint32, value []byte) []byte {
	var out []byte
	switch {
	case tag > 0xffff:
		out = []byte{byte(tag >> 16), byte(tag >> 8), byte(tag)}
	case tag > 0xff:
		out = []byte{byte(tag >> 8), byte(tag)}
	default:
		out = []byte{byte(tag)}
	}
	out = append(out, encLen(len(value))...)
	return append(out, value...)
}
