package ceremony

import (
	"encoding/hex"
	"fmt"
	"maps"
	"slices"

	"github.com/ceremony-tuf/ceremony/roles"
)

// Projects whose delegation needs several maintainers' signatures use the
// ceremony's own request and response files: ProjectRequest makes the
// request, each maintainer runs `ceremony sign REQUEST --key URI --out
// RESPONSE` on their own machine, and AddProjectResponse takes each
// response into the metadata. There is no transcript: a project request's
// transcript_head is the SHA-256 of the delegating file (claimed or its
// bin) the request was made against, and its ceremony id is
// "project.NAME".

// ProjectRequest makes a signing request for a project's delegated targets
// metadata, under the delegation delegator (claimed, or the bin holding the
// project) gives it.
func ProjectRequest(m *roles.Metadata[*roles.Targets], project string, delegator []byte) (*Request, error) {
	del, err := projectDelegationIn(delegator, project)
	if err != nil {
		return nil, err
	}
	canon := m.CanonicalSigned()
	req := &Request{
		Format: requestFormat, Ceremony: "project." + project, TranscriptHead: digestOf(delegator),
		Role: project, Version: m.Signed.Version, Signed: canon, Digest: digestOf(canon),
		Thresholds: []RequestThreshold{{Under: project, Threshold: del.Threshold, KeyIDs: del.KeyIDs}},
	}
	req.Summary = append(req.Summary, fmt.Sprintf("%s v%d: %d target files; expires %s", project, m.Signed.Version, len(m.Signed.Targets), day(m.Signed.Expires)))
	for _, p := range slices.Sorted(maps.Keys(m.Signed.Targets)) {
		t := m.Signed.Targets[p]
		req.Summary = append(req.Summary, fmt.Sprintf("target %s, %d bytes, sha256 %s", p, t.Length, t.Hashes["sha256"]))
	}
	for _, id := range del.KeyIDs {
		kb, err := del.Keys[id].MarshalJSON()
		if err != nil {
			return nil, err
		}
		req.Signers = append(req.Signers, RequestSigner{KeyID: id, Name: "maintainer", Key: kb})
	}
	b, err := req.Marshal()
	if err != nil {
		return nil, err
	}
	return ParseRequest(b) // the same checks a signer's machine makes
}

// AddProjectResponse checks a maintainer's response against the project's
// metadata and its delegation, and adds the signature to m.
func AddProjectResponse(m *roles.Metadata[*roles.Targets], project string, delegator []byte, resp *Response) error {
	del, err := projectDelegationIn(delegator, project)
	if err != nil {
		return err
	}
	if resp.Ceremony != "project."+project || resp.Role != project {
		return fmt.Errorf("%w: the response is for %s, not project %s", ErrOtherCeremony, resp.Role, project)
	}
	canon := m.CanonicalSigned()
	if resp.Version != m.Signed.Version || resp.Digest != digestOf(canon) {
		return fmt.Errorf("%w: the response signs %s v%d (%s), the metadata is v%d (%s): make the request again", ErrStale, project, resp.Version, roles.ShortID(resp.Digest), m.Signed.Version, roles.ShortID(digestOf(canon)))
	}
	key := del.Keys[resp.KeyID]
	if key == nil || !slices.Contains(del.KeyIDs, resp.KeyID) {
		return fmt.Errorf("%w: key %s is not one of %s's maintainer keys", ErrUntrustedKey, roles.ShortID(resp.KeyID), project)
	}
	sig, err := hex.DecodeString(resp.Sig)
	if err != nil {
		return fmt.Errorf("%w: sig is not hex", ErrRequestInvalid)
	}
	if err := key.Verify(canon, sig); err != nil {
		return fmt.Errorf("%w: the signature by %s does not verify (%v)", ErrRequestInvalid, roles.ShortID(resp.KeyID), err)
	}
	for _, s := range m.Signatures {
		if s.KeyID == resp.KeyID {
			return fmt.Errorf("%w: %s already has the signature of key %s", ErrDuplicate, project, roles.ShortID(resp.KeyID))
		}
	}
	m.AddSignature(roles.Signature{KeyID: resp.KeyID, Sig: sig})
	return nil
}

func projectDelegationIn(delegator []byte, project string) (roles.Delegation, error) {
	d, err := roles.Parse[*roles.Targets](delegator)
	if err != nil {
		return roles.Delegation{}, fmt.Errorf("delegating metadata: %w", err)
	}
	del, err := d.Signed.Delegations.Delegation(project)
	if err != nil {
		return roles.Delegation{}, fmt.Errorf("delegating metadata: %w", err)
	}
	return del, nil
}
