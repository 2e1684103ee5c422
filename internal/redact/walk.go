package redact

import "reflect"

// InPlace redacts, through Apply, every string reachable from ptr: exported fields of structs,
// elements of slices and arrays, map values, and what pointers and interfaces point to. It is
// reflective on purpose: a field added to the result document later is covered without anyone
// having to remember this package. Only values of type string itself are changed; named string
// types (enums such as a verdict) are set by code, never from a scenario, and must keep their
// exact values. Unexported fields (time.Time's internals) are not touched.
func (s *Secrets) InPlace(ptr any) {
	v := reflect.ValueOf(ptr)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return
	}
	s.walk(v.Elem(), map[uintptr]bool{})
}

func (s *Secrets) walk(v reflect.Value, seen map[uintptr]bool) {
	switch v.Kind() {
	case reflect.String:
		if v.Type() == reflect.TypeFor[string]() && v.CanSet() {
			v.SetString(s.Apply(v.String()))
		}
	case reflect.Pointer:
		if v.IsNil() || seen[v.Pointer()] {
			return
		}
		seen[v.Pointer()] = true
		s.walk(v.Elem(), seen)
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		e := v.Elem()
		if e.Kind() == reflect.String && e.Type() == reflect.TypeFor[string]() && v.CanSet() {
			v.Set(reflect.ValueOf(s.Apply(e.String())))
			return
		}
		if e.Kind() == reflect.Pointer {
			s.walk(e, seen)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				s.walk(v.Field(i), seen)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			s.walk(v.Index(i), seen)
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		// Keys are collected first because a redacted string key is stored under its new
		// value, and inserting while ranging may or may not visit the new entry.
		for _, k := range v.MapKeys() {
			// Map entries are not addressable: redact copies and store them back.
			c := reflect.New(v.Type().Elem()).Elem()
			c.Set(v.MapIndex(k))
			s.walk(c, seen)
			nk := k
			if k.Kind() == reflect.String && k.Type() == reflect.TypeFor[string]() {
				nk = reflect.ValueOf(s.Apply(k.String()))
			}
			if nk.Interface() != k.Interface() {
				v.SetMapIndex(k, reflect.Value{})
			}
			v.SetMapIndex(nk, c)
		}
	}
}
