package codedeploy

import "time"

// faults are injected failures; guarded by Server.mu.
type faults struct {
	// failNext maps a lifecycle event ("" = any) to the message of its next hook's failure.
	failNext map[string]string
	// timeoutNext holds lifecycle events ("" = any) whose next hook never reports.
	timeoutNext map[string]bool
	// slow maps a lifecycle event to extra time spent in it, on every deployment.
	slow map[string]time.Duration
}

// FailNextHook makes the next hook execution of a lifecycle event (e.g. "BeforeInstall";
// "" for any event) fail with message instead of invoking its Lambda function.
func (s *Server) FailNextHook(event, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.failNext == nil {
		s.faults.failNext = map[string]string{}
	}
	s.faults.failNext[event] = message
}

// TimeoutNextHook makes the next hook execution of a lifecycle event ("" for any) never
// report, so the deployment fails after the hook timeout.
func (s *Server) TimeoutNextHook(event string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.timeoutNext == nil {
		s.faults.timeoutNext = map[string]bool{}
	}
	s.faults.timeoutNext[event] = true
}

// SlowStep adds d to every later execution of a lifecycle event (hook events and the
// Install and AllowTestTraffic/AllowTraffic steps alike), until Reset or SlowStep(event, 0).
func (s *Server) SlowStep(event string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.slow == nil {
		s.faults.slow = map[string]time.Duration{}
	}
	if d <= 0 {
		delete(s.faults.slow, event)
		return
	}
	s.faults.slow[event] = d
}

// hookFaultLocked takes the fault, if any, for the next hook of event.
func (s *Server) hookFaultLocked(event string) (failMsg string, fail, timeout bool) {
	for _, key := range []string{event, ""} {
		if msg, ok := s.faults.failNext[key]; ok {
			delete(s.faults.failNext, key)
			return msg, true, false
		}
		if s.faults.timeoutNext[key] {
			delete(s.faults.timeoutNext, key)
			return "", false, true
		}
	}
	return "", false, false
}
