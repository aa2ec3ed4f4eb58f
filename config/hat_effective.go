package config

// EffectiveParams is a policy's parameters with every unset value (zero
// number, empty text, unset OnOff) taken from the listener's default
// policy, as AsyncOS's "Use Default": default policy < named policy.
//
// It is written out field by field rather than walked by reflection: it
// runs for every sender group at every commit and for every policy when
// the MTA builds a listener's servers, and a plain struct literal is
// several times cheaper (BenchmarkEffectiveParams). TestEffectiveParamsEveryField
// fails when a field of HATParams is added here without being inherited.
func EffectiveParams(p, def HATParams) HATParams {
	return HATParams{
		MaxMessageSize:        orDefault(p.MaxMessageSize, def.MaxMessageSize),
		MaxConcurrency:        orDefault(p.MaxConcurrency, def.MaxConcurrency),
		MaxMsgsPerConn:        orDefault(p.MaxMsgsPerConn, def.MaxMsgsPerConn),
		MaxRcptsPerMsg:        orDefault(p.MaxRcptsPerMsg, def.MaxRcptsPerMsg),
		BannerHostname:        orDefault(p.BannerHostname, def.BannerHostname),
		BannerCode:            orDefault(p.BannerCode, def.BannerCode),
		BannerText:            orDefault(p.BannerText, def.BannerText),
		RejectCode:            orDefault(p.RejectCode, def.RejectCode),
		RejectText:            orDefault(p.RejectText, def.RejectText),
		RateLimit:             p.RateLimit.Or(def.RateLimit),
		MaxRcptsPerHour:       orDefault(p.MaxRcptsPerHour, def.MaxRcptsPerHour),
		TLS:                   orDefault(p.TLS, def.TLS),
		VerifyClientCert:      p.VerifyClientCert.Or(def.VerifyClientCert),
		SMTPAuth:              orDefault(p.SMTPAuth, def.SMTPAuth),
		RequireTLSForAuth:     p.RequireTLSForAuth.Or(def.RequireTLSForAuth),
		SpamCheck:             p.SpamCheck.Or(def.SpamCheck),
		VirusCheck:            p.VirusCheck.Or(def.VirusCheck),
		UseSenderBase:         p.UseSenderBase.Or(def.UseSenderBase),
		ContentFilters:        p.ContentFilters.Or(def.ContentFilters),
		MessageFilters:        p.MessageFilters.Or(def.MessageFilters),
		EnvelopeSenderVerify:  p.EnvelopeSenderVerify.Or(def.EnvelopeSenderVerify),
		RateLimitCode:         orDefault(p.RateLimitCode, def.RateLimitCode),
		RateLimitText:         orDefault(p.RateLimitText, def.RateLimitText),
		SenderRateLimit:       p.SenderRateLimit.Or(def.SenderRateLimit),
		MaxRcptsPerSender:     orDefault(p.MaxRcptsPerSender, def.MaxRcptsPerSender),
		SenderRateInterval:    orDefault(p.SenderRateInterval, def.SenderRateInterval),
		DHAP:                  p.DHAP.Or(def.DHAP),
		DHAPLimit:             orDefault(p.DHAPLimit, def.DHAPLimit),
		DHAPAction:            orDefault(p.DHAPAction, def.DHAPAction),
		DHAPCode:              orDefault(p.DHAPCode, def.DHAPCode),
		DHAPText:              orDefault(p.DHAPText, def.DHAPText),
		HostGrouping:          p.HostGrouping.Or(def.HostGrouping),
		SignificantBits:       orDefault(p.SignificantBits, def.SignificantBits),
		TrustedRelay:          p.TrustedRelay.Or(def.TrustedRelay),
		TrustedRelayHeader:    orDefault(p.TrustedRelayHeader, def.TrustedRelayHeader),
		SDRCheck:              p.SDRCheck.Or(def.SDRCheck),
		OutbreakFilters:       p.OutbreakFilters.Or(def.OutbreakFilters),
		PhishingCheck:         p.PhishingCheck.Or(def.PhishingCheck),
		GraymailCheck:         p.GraymailCheck.Or(def.GraymailCheck),
		DKIMSigning:           p.DKIMSigning.Or(def.DKIMSigning),
		SMIMEHarvest:          p.SMIMEHarvest.Or(def.SMIMEHarvest),
		SMIMEHarvestOnFailure: p.SMIMEHarvestOnFailure.Or(def.SMIMEHarvestOnFailure),
		SMIMEHarvestUpdated:   p.SMIMEHarvestUpdated.Or(def.SMIMEHarvestUpdated),
		SMIMEGateway:          p.SMIMEGateway.Or(def.SMIMEGateway),
		SMIMESignature:        orDefault(p.SMIMESignature, def.SMIMESignature),
		DKIMVerify:            p.DKIMVerify.Or(def.DKIMVerify),
		DKIMProfile:           orDefault(p.DKIMProfile, def.DKIMProfile),
		SPFVerify:             p.SPFVerify.Or(def.SPFVerify),
		SPFLevel:              orDefault(p.SPFLevel, def.SPFLevel),
		SPFDowngradePRA:       p.SPFDowngradePRA.Or(def.SPFDowngradePRA),
		SPFHelo:               p.SPFHelo.Or(def.SPFHelo),
		SPFTimeout:            orDefault(p.SPFTimeout, def.SPFTimeout),
		DMARCVerify:           p.DMARCVerify.Or(def.DMARCVerify),
		DMARCProfile:          orDefault(p.DMARCProfile, def.DMARCProfile),
		DMARCReports:          p.DMARCReports.Or(def.DMARCReports),
		MalformedSenderCode:   orDefault(p.MalformedSenderCode, def.MalformedSenderCode),
		MalformedSenderText:   orDefault(p.MalformedSenderText, def.MalformedSenderText),
		UnresolvedSenderCode:  orDefault(p.UnresolvedSenderCode, def.UnresolvedSenderCode),
		UnresolvedSenderText:  orDefault(p.UnresolvedSenderText, def.UnresolvedSenderText),
		MissingSenderCode:     orDefault(p.MissingSenderCode, def.MissingSenderCode),
		MissingSenderText:     orDefault(p.MissingSenderText, def.MissingSenderText),
		DomainExceptionTable:  p.DomainExceptionTable.Or(def.DomainExceptionTable),
		UntaggedBounces:       p.UntaggedBounces.Or(def.UntaggedBounces),
	}
}

// orDefault is v, or def when v is the zero value (unset).
func orDefault[T comparable](v, def T) T {
	var unset T
	if v == unset {
		return def
	}
	return v
}
