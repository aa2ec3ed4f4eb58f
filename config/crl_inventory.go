package config

// crls classifies certconfig's CRL entries (crl.go).
func (m inventory) crls() {
	m["crls[*].name"] = enforced("the key certconfig CRL lists, prints and deletes the list by", "commands/certconfig.TestCRLDialog")
	m["crls[*].url"] = enforced("mta/crl.go fetches the list again before its nextUpdate, from the interface the source rules pick", "mta.TestCRLRefreshFromURL")
	m["crls[*].crl"] = enforced("mta/crl.go (revoked peers refused: client certificates, Verify destinations, tlsverify)", "mta.TestCRLRevokedClientRefused")
}
