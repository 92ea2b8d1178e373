package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Inputs that decide whether a command changed (besides triggers, which replace); outputs never count.
var diffKeys = []resource.PropertyKey{
	"create", "update", "delete", "stdin", "environment", "dir", "connection", "logging",
	"addPreviousOutputInEnv", "interpreter",
}

// What this build implements, per resource type. Anything else set on a resource is refused in Check.
var implemented = map[string][]string{
	localType:  {"create", "update", "delete", "stdin", "environment", "dir", "interpreter", "triggers", "logging", "addPreviousOutputInEnv"},
	remoteType: {"create", "update", "delete", "stdin", "environment", "connection", "triggers", "logging", "addPreviousOutputInEnv"},
}

var implementedConnection = []string{
	"host", "port", "user", "privateKey", "privateKeyPassword", "password", "agentSocketPath", "dialErrorLimit",
	"perDialTimeout", "hostKey",
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// checkInputs names every input this build would otherwise ignore.
func checkInputs(typ string, inputs resource.PropertyMap) error {
	allowed, ok := implemented[typ]
	if !ok {
		return fmt.Errorf("unknown resource type %q", typ)
	}
	var refused []string
	for key, value := range inputs {
		if value.IsNull() || strings.HasPrefix(string(key), "__") {
			continue
		}
		if !contains(allowed, string(key)) {
			refused = append(refused, string(key))
		}
	}
	if conn, ok := inputs["connection"]; ok && typ == remoteType {
		if conn.IsSecret() {
			conn = conn.SecretValue().Element
		}
		if conn.IsObject() {
			for key, value := range conn.ObjectValue() {
				if !value.IsNull() && !contains(implementedConnection, string(key)) {
					refused = append(refused, "connection."+string(key))
				}
			}
		}
	}
	if len(refused) > 0 {
		sort.Strings(refused)
		return fmt.Errorf("swarmkit's build of pulumi-resource-command does not implement %s (set on this %s); "+
			"use the upstream provider (a normal Pulumi install) or leave them out", strings.Join(refused, ", "), typ)
	}
	return nil
}

// plain turns a property value into plain Go values, secrets unwrapped.
func plain(v resource.PropertyValue) any {
	switch {
	case v.IsSecret():
		return plain(v.SecretValue().Element)
	case v.IsNull():
		return nil
	case v.IsComputed() || v.IsOutput():
		return "<unknown>"
	case v.IsBool():
		return v.BoolValue()
	case v.IsNumber():
		return v.NumberValue()
	case v.IsString():
		return v.StringValue()
	case v.IsArray():
		out := []any{}
		for _, e := range v.ArrayValue() {
			out = append(out, plain(e))
		}
		return out
	case v.IsObject():
		out := map[string]any{}
		for k, e := range v.ObjectValue() {
			out[string(k)] = plain(e)
		}
		return out
	default:
		return fmt.Sprint(v.V)
	}
}

func str(m resource.PropertyMap, key string) string {
	if v, ok := m[resource.PropertyKey(key)]; ok {
		if s, ok := plain(v).(string); ok {
			return s
		}
	}
	return ""
}

func boolOr(m resource.PropertyMap, key string, fallback bool) bool {
	if v, ok := m[resource.PropertyKey(key)]; ok {
		if b, ok := plain(v).(bool); ok {
			return b
		}
	}
	return fallback
}

func stringList(m resource.PropertyMap, key string) []string {
	var out []string
	if v, ok := m[resource.PropertyKey(key)]; ok {
		if list, ok := plain(v).([]any); ok {
			for _, e := range list {
				out = append(out, fmt.Sprint(e))
			}
		}
	}
	return out
}

func stringMap(m resource.PropertyMap, key string) map[string]string {
	out := map[string]string{}
	if v, ok := m[resource.PropertyKey(key)]; ok {
		if obj, ok := plain(v).(map[string]any); ok {
			for k, e := range obj {
				out[k] = fmt.Sprint(e)
			}
		}
	}
	return out
}
