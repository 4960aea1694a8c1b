// The parsers under test, by namespace: when a type moves, this is the one place to follow it.
global using SrsProxy.Configuration;
global using SrsProxy.HttpStream;
global using SrsProxy.Registry;
global using SrsProxy.Rtmp;
global using SrsProxy.Srt;
global using SrsProxy.Streams;
global using SrsProxy.SystemApi;
global using SrsProxy.WebRtc.Relay;
global using SrsProxy.WebRtc.Sdp;
global using SrsProxy.WebRtc.Signalling;
