package discordtest

import (
	"net/http"
	"strconv"
	"strings"
)

// serveCDN serves stored attachments at
// /attachments/{channel_id}/{attachment_id}/{filename}, the path of
// cdn.discordapp.com and media.discordapp.net URLs. Like the CDN, it needs
// no authorization and is not checked against the REST contract.
func (s *Server) serveCDN(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if len(parts) != 4 {
		http.Error(w, "This content is no longer available.", http.StatusNotFound)
		return
	}
	channelID, id, name := parts[1], parts[2], parts[3]
	s.mu.Lock()
	a, ok := s.st.files[id]
	var data []byte
	var ct string
	if ok && a.channelID == channelID && a.filename == name {
		data, ct = a.data, a.contentType
	} else {
		ok = false
	}
	s.mu.Unlock()
	if !ok {
		http.Error(w, "This content is no longer available.", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Header().Set("Cache-Control", "public, max-age=31536000")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(data)
	}
}
