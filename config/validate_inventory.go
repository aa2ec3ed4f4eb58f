package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// The commit check of the settings the inventory classes "refused at
// commit" (inventory.go): esash stores them so that AsyncOS scripts and
// files load, but nothing on the appliance would act on a value other than
// the default, so such a value is refused instead of stored silently.

// refusal says which values of a refused setting the appliance accepts.
// parent is the struct holding the setting (for a value that only counts
// together with a sibling).
type refusal func(parent, v reflect.Value) bool

// zeroOr accepts the zero value ("use the default" in a named policy) and
// the given defaults.
func zeroOr(defaults ...any) refusal {
	return func(_, v reflect.Value) bool {
		if v.IsZero() {
			return true
		}
		for _, d := range defaults {
			if fmt.Sprint(v.Interface()) == fmt.Sprint(d) {
				return true
			}
		}
		return false
	}
}

// only accepts exactly the default: for settings whose zero value is a
// setting of its own (0 seconds: no duplicate alerts).
func only(def int) refusal {
	return func(_, v reflect.Value) bool { return v.Int() == int64(def) }
}

// portOfDisabled accepts any port of a service that is not enabled; the
// enabled service is refused on its own.
func portOfDisabled(parent, _ reflect.Value) bool {
	return !parent.FieldByName("Enabled").Bool()
}

// minutesWithoutLimit accepts the minutes of a recipient limit that is not
// set; the limit is refused on its own.
func minutesWithoutLimit(parent, v reflect.Value) bool {
	return v.IsZero() || parent.FieldByName("RecipientLimit").Int() == 0
}

var refusals = buildRefusals()

func buildRefusals() map[string]refusal {
	r := map[string]refusal{}
	for _, svc := range []string{"ftp", "telnet", "ccs", "euq_http", "euq_https", "api_http", "api_https"} {
		r["interfaces[*]."+svc+".enabled"] = zeroOr()
		r["interfaces[*]."+svc+".port"] = portOfDisabled
	}
	for _, k := range []string{"euq_redirect_http", "euq_default_interface", "euq_base_url"} {
		r["interfaces[*]."+k] = zeroOr()
	}
	for k, ok := range map[string]refusal{
		"default_domain": zeroOr(), "tcp_queue": zeroOr(50), "queue_to_disk": zeroOr(),
		"bounce_profile": zeroOr("Default"), "omit_received_header": zeroOr(),
	} {
		r["listeners[*]."+k] = ok
	}
	for k, ok := range map[string]refusal{
		"max_rcpts_per_hour_code": zeroOr(452), "max_rcpts_per_hour_text": zeroOr(),
		"use_sender_rate_limit": zeroOr("off"), "max_rcpts_per_sender": zeroOr(), "sender_rate_interval": zeroOr(),
		"host_grouping": zeroOr("off"), "significant_bits": zeroOr(),
		"smtp_auth": zeroOr("off"), "smtp_auth_requires_tls": zeroOr("off"),
		"enforce_sender_verify": zeroOr("off"), "domain_exception_table": zeroOr("off"),
		"malformed_sender_code": zeroOr(553), "malformed_sender_text": zeroOr(),
		"unresolved_sender_code": zeroOr(451), "unresolved_sender_text": zeroOr(),
		"nonexistent_sender_code": zeroOr(553), "nonexistent_sender_text": zeroOr(),
		"accept_untagged_bounces": zeroOr("off"),
	} {
		r["listeners[*].default_policy."+k] = ok
		r["listeners[*].policies[*].params."+k] = ok
	}
	for k, ok := range map[string]refusal{
		"recipient_limit": zeroOr(), "recipient_minutes": minutesWithoutLimit, "limit_type": zeroOr("host"),
		"limit_apply": zeroOr("system"), "bounce_validation": zeroOr("off"), "bounce_profile": zeroOr("Default"),
		"ip_sort_pref": zeroOr("PREFER_V6"),
	} {
		r["destinations.default."+k] = ok
		r["destinations.entries[*]."+k] = ok
	}
	r["delivery.possible_delivery"] = zeroOr()
	for k, ok := range map[string]refusal{
		"initial_wait": only(300), "max_wait": only(3600),
		"tls": zeroOr(),
	} {
		r["alerts."+k] = ok
	}
	for k, ok := range map[string]refusal{
		"received_hostname": zeroOr("interface"), "add_message_id": zeroOr("off"),
		"reject_at_rcpt": zeroOr("off"), "max_subject_size": zeroOr(255),
	} {
		r["listener_setup."+k] = ok
	}
	// Questions added for AsyncOS's question order (inventory.go,
	// dialogQuestions).
	r["smtproutes[*].smtp_auth_profile"] = zeroOr()
	for _, p := range []string{"listeners[*].default_policy.", "listeners[*].policies[*].params."} {
		r[p+"use_trusted_relay_header"] = zeroOr("off")
		r[p+"trusted_relay_header"] = zeroOr()
	}
	return r
}

// refusedSections are the parts of Config that hold refused settings; the
// walk skips the others (certificates, users ...), which can be large.
var refusedSections = func() map[string]bool {
	s := map[string]bool{}
	for p := range refusals {
		name, _, _ := strings.Cut(p, ".")
		name, _, _ = strings.Cut(name, "[")
		s[name] = true
	}
	return s
}()

// inventory refuses every setting of class RefusedAtCommit that holds a
// value the appliance would not act on.
func (c *checker) inventory(cfg *Config) {
	v := reflect.ValueOf(cfg).Elem()
	for _, f := range fieldsOf(v.Type()) {
		if refusedSections[f.name] {
			c.refusedIn(f.name, f.name, v.Field(f.index), f, v)
		}
	}
}

// refusedIn walks one value; path is concrete, pattern has [*] for keys.
func (c *checker) refusedIn(path, pattern string, v reflect.Value, f field, parent reflect.Value) {
	switch {
	case f.keyed:
		key := keyFunc(v, f.keyIdx)
		es, isDest := destEntries(v)
		for i := 0; i < v.Len(); i++ {
			if isDest && c.entryUnchanged(i, es[i]) {
				continue // checked when base was committed, as in validate.go
			}
			item := v.Index(i)
			for _, g := range fieldsOf(item.Type()) {
				c.refusedIn(join(itemPath(path, key(i)), g.name), join(pattern+"[*]", g.name), item.Field(g.index), g, item)
			}
		}
	case v.Kind() == reflect.Struct:
		for _, g := range fieldsOf(v.Type()) {
			c.refusedIn(join(path, g.name), join(pattern, g.name), v.Field(g.index), g, v)
		}
	default:
		if ok, refused := refusals[pattern]; refused && !ok(parent, v) {
			c.refuse(path, pattern, v)
		}
	}
}

// refuse reports a refused value: an error, unless another check already
// reported the setting, or a warning when base committed the very same
// value (before this check existed): an old value must not block
// unrelated commits, but every commit names it.
func (c *checker) refuse(path, pattern string, v reflect.Value) {
	for _, p := range c.ps {
		if p.Path == path && !p.Warning {
			return
		}
	}
	s := Inventory[pattern]
	msg := fmt.Sprintf("The value %s is not supported on this appliance (%s); the value must be %s.", showValue(v), s.Why, s.Accepts)
	if c.base != nil {
		if t, err := resolve(reflect.ValueOf(c.base), path); err == nil && t.v.IsValid() && equal(t.v, v) {
			c.warnf(path, "%s", msg)
			return
		}
	}
	c.errf(path, "%s", msg)
}

func showValue(v reflect.Value) string {
	if v.Kind() == reflect.String {
		return strconv.Quote(v.String())
	}
	return fmt.Sprint(v.Interface())
}
