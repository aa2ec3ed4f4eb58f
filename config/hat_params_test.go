package config

import (
	"reflect"
	"testing"
)

// effectiveSink keeps the compiler from dropping the benchmarked call.
var effectiveSink HATParams

// BenchmarkEffectiveParams is the cost of one policy's effective
// parameters: NewHATMatcher computes them once per sender group at every
// commit, and the MTA once per policy when it builds a listener's servers.
func BenchmarkEffectiveParams(b *testing.B) {
	l := FactoryListener("IncomingMail", Public, "Management", 25)
	for _, p := range l.Policies {
		b.Run(p.Name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				effectiveSink = EffectiveParams(p.Params, l.DefaultPolicy)
			}
		})
	}
}

// TestEffectiveParamsEveryField sets each HATParams field alone, in the
// policy and then in the default, and checks that EffectiveParams keeps
// the policy's value and inherits the default's. A field added to
// HATParams and forgotten in EffectiveParams fails here (it comes out
// zero). Reflection is fine in the test; EffectiveParams has none.
func TestEffectiveParamsEveryField(t *testing.T) {
	typ := reflect.TypeFor[HATParams]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		t.Run(f.Name, func(t *testing.T) {
			var policy, def HATParams
			setSample(t, reflect.ValueOf(&policy).Elem().Field(i), "policy", 7)
			setSample(t, reflect.ValueOf(&def).Elem().Field(i), "on", 9)
			if got := EffectiveParams(policy, HATParams{}); got != policy {
				t.Errorf("a policy's own %s is not kept: got %v", f.Name, reflect.ValueOf(got).Field(i))
			}
			if got := EffectiveParams(HATParams{}, def); got != def {
				t.Errorf("an unset %s is not inherited from the default policy: got %v", f.Name, reflect.ValueOf(got).Field(i))
			}
			if got := EffectiveParams(policy, def); got != policy {
				t.Errorf("the default policy's %s overrides the policy's own: got %v", f.Name, reflect.ValueOf(got).Field(i))
			}
		})
	}
}

func setSample(t *testing.T, v reflect.Value, s string, n int64) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Int, reflect.Int64:
		v.SetInt(n)
	default:
		t.Fatalf("HATParams has a field of kind %s: teach EffectiveParams and this test how it inherits", v.Kind())
	}
}

// TestEffectiveParamsOnOff: an explicit "off" in a named policy is a
// value, not "use default", and an unset one inherits either state.
func TestEffectiveParamsOnOff(t *testing.T) {
	for _, tc := range []struct {
		name        string
		policy, def OnOff
		want        OnOff
	}{
		{"unset inherits on", UseDefault, On, On},
		{"unset inherits off", UseDefault, Off, Off},
		{"unset over unset stays unset", UseDefault, UseDefault, UseDefault},
		{"off overrides on", Off, On, Off},
		{"on overrides off", On, Off, On},
		{"invalid is kept for Validate", "yes", On, "yes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := EffectiveParams(HATParams{RateLimit: tc.policy}, HATParams{RateLimit: tc.def}).RateLimit
			if got != tc.want {
				t.Errorf("RateLimit = %q, want %q", got, tc.want)
			}
		})
	}
}
