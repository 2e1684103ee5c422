package dnsanswer

import "testing"

func TestAnswerMatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		answer, expect []string
		ok             bool
	}{
		{[]string{"10.1.0.10"}, []string{"10.1.0.10"}, true},
		{[]string{"DR.Example.com."}, []string{"dr.example.com"}, true},
		{[]string{"10.0.0.10", "10.1.0.10"}, []string{"10.1.0.10"}, false}, // a stale primary still answers
		{nil, []string{"10.1.0.10"}, false},
		{[]string{"1.2.3.4"}, nil, true},
	}
	for _, tt := range tests {
		if err := Match(tt.answer, tt.expect); (err == nil) != tt.ok {
			t.Errorf("Match(%v, %v) = %v, want ok=%v", tt.answer, tt.expect, err, tt.ok)
		}
	}
}
