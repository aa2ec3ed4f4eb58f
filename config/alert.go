package config

import (
	"slices"
	"strings"
)

// Alert classes and severities (alertconfig), and who receives an alert.
// The required-TLS failure alert of destconfig SETUP is class System,
// severity Warning.

// Alert classes, in alertconfig's list order (after "All").
const (
	AlertClassAll     = "All"
	AlertSystem       = "System"
	AlertHardware     = "Hardware"
	AlertUpdater      = "Updater"
	AlertOutbreak     = "Outbreak Filters"
	AlertAntiVirus    = "Anti-Virus"
	AlertAntiSpam     = "Anti-Spam"
	AlertDHAP         = "Directory Harvest Attack Prevention"
	AlertReleaseNotes = "Release and Support Notifications"
	SeverityAll       = "All"
	SeverityCritical  = "Critical"
	SeverityWarning   = "Warning"
	SeverityInfo      = "Info"
	severityInfoLong  = "Information"
)

// AlertClasses are the classes sent at chosen severities ("All" stands for
// them); Release and Support Notifications is on or off, without severities.
var AlertClasses = []string{AlertSystem, AlertHardware, AlertUpdater, AlertOutbreak, AlertAntiVirus, AlertAntiSpam, AlertDHAP}

// AlertSeverities are the severities, most severe first.
var AlertSeverities = []string{SeverityCritical, SeverityWarning, SeverityInfo}

// CanonicalAlertClass returns the class named n (any case; "All" too).
func CanonicalAlertClass(n string) (string, bool) {
	for _, c := range append([]string{AlertClassAll, AlertReleaseNotes}, AlertClasses...) {
		if strings.EqualFold(n, c) {
			return c, true
		}
	}
	return "", false
}

// CanonicalSeverity returns the severity named n (any case; "All" and
// "Information" too).
func CanonicalSeverity(n string) (string, bool) {
	if strings.EqualFold(n, severityInfoLong) {
		return SeverityInfo, true
	}
	for _, s := range append([]string{SeverityAll}, AlertSeverities...) {
		if strings.EqualFold(n, s) {
			return s, true
		}
	}
	return "", false
}

func hasFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func expandSeverities(list []string) []string {
	if hasFold(list, SeverityAll) {
		return AlertSeverities
	}
	var out []string
	for _, s := range AlertSeverities {
		if hasFold(list, s) || s == SeverityInfo && hasFold(list, severityInfoLong) {
			out = append(out, s)
		}
	}
	return out
}

// ReleaseNotes reports a recipient of Release and Support Notifications.
func (r AlertRecipient) ReleaseNotes() bool { return hasFold(r.Classes, AlertReleaseNotes) }

// SeveritiesFor returns the severities at which r receives class (one of
// AlertClasses), most severe first; nil when r does not receive it.
func (r AlertRecipient) SeveritiesFor(class string) []string {
	if !hasFold(r.Classes, class) && !hasFold(r.Classes, AlertClassAll) {
		return nil
	}
	for _, l := range r.Levels {
		if strings.EqualFold(l.Class, class) {
			return expandSeverities(l.Severities)
		}
	}
	return expandSeverities(r.Severities)
}

// Wants reports whether r receives an alert of class at severity.
func (r AlertRecipient) Wants(class, severity string) bool {
	if strings.EqualFold(class, AlertReleaseNotes) {
		return r.ReleaseNotes()
	}
	sev, ok := CanonicalSeverity(severity)
	return ok && slices.Contains(r.SeveritiesFor(class), sev)
}

// RecipientsFor lists the addresses that receive an alert of class at
// severity, in configuration order.
func (a *Alerts) RecipientsFor(class, severity string) []string {
	var out []string
	for _, r := range a.Recipients {
		if r.Wants(class, severity) {
			out = append(out, r.Address)
		}
	}
	return out
}

// NewAlertRecipient builds the canonical recipient for a subscription
// matrix: levels maps each class of AlertClasses it receives to its
// severities; releaseNotes subscribes to Release and Support
// Notifications. The severities most classes share become Severities,
// the others Levels.
func NewAlertRecipient(address string, levels map[string][]string, releaseNotes bool) AlertRecipient {
	r := AlertRecipient{Address: address, Classes: []string{}, Severities: []string{}}
	type group struct {
		key   string
		sevs  []string
		count int
	}
	var groups []*group
	for _, c := range AlertClasses {
		sevs := expandSeverities(levels[c])
		if len(sevs) == 0 {
			continue
		}
		r.Classes = append(r.Classes, c)
		key := strings.Join(sevs, ",")
		found := false
		for _, g := range groups {
			if g.key == key {
				g.count++
				found = true
			}
		}
		if !found {
			groups = append(groups, &group{key: key, sevs: sevs, count: 1})
		}
	}
	if releaseNotes {
		r.Classes = append(r.Classes, AlertReleaseNotes)
	}
	if len(groups) == 0 {
		return r
	}
	best := groups[0]
	for _, g := range groups[1:] {
		if g.count > best.count {
			best = g
		}
	}
	r.Severities = append([]string{}, best.sevs...)
	for _, c := range AlertClasses {
		sevs := expandSeverities(levels[c])
		if len(sevs) > 0 && strings.Join(sevs, ",") != best.key {
			r.Levels = append(r.Levels, AlertLevels{Class: c, Severities: sevs})
		}
	}
	return r
}

// Matrix returns the severities r receives per class of AlertClasses
// (classes it does not receive are absent).
func (r AlertRecipient) Matrix() map[string][]string {
	m := map[string][]string{}
	for _, c := range AlertClasses {
		if s := r.SeveritiesFor(c); len(s) > 0 {
			m[c] = s
		}
	}
	return m
}

// The alert destconfig SETUP turns on ("send an alert when a required TLS
// connection fails") is of this class and severity.
const (
	TLSFailAlertClass    = AlertSystem
	TLSFailAlertSeverity = SeverityWarning
)

// TLSFailAlertRecipients lists who receives the required-TLS failure alert:
// nobody unless destconfig SETUP enabled it.
func (c *Config) TLSFailAlertRecipients() []string {
	if !c.Destinations.AlertOnTLSFail {
		return nil
	}
	return c.Alerts.RecipientsFor(TLSFailAlertClass, TLSFailAlertSeverity)
}

// Certificate expiry alerts (alertconfig WARNDAYS): the first warning N
// days before the end, then at 7 and 1 day, the fixed thresholds below N.
const (
	DefaultCertExpiryDays = 30
	MaxCertExpiryDays     = 365
)

// CertExpiryWarnDays is the first threshold (DefaultCertExpiryDays when
// unset).
func (a Alerts) CertExpiryWarnDays() int {
	if a.CertExpiryDays <= 0 {
		return DefaultCertExpiryDays
	}
	return a.CertExpiryDays
}

// CertExpiryThresholds are the days left at which the System class is
// warned, largest first: N, then 7 and 1 where they are below N.
func (a Alerts) CertExpiryThresholds() []int {
	n := a.CertExpiryWarnDays()
	out := []int{n}
	for _, t := range []int{7, 1} {
		if t < n {
			out = append(out, t)
		}
	}
	return out
}
