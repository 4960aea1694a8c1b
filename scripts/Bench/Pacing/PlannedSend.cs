namespace SrsProxy.Bench.Pacing;

/// <summary>
/// One datagram a schedule asks for: at <paramref name="DueUs"/> on the schedule's clock (microseconds since
/// the sender started), to player slot <paramref name="Slot"/> (-1: nothing to send, ask again at the due
/// time), <paramref name="Length"/> bytes. <paramref name="GapUs"/> is the gap the schedule meant since the
/// previous datagram, which the report sets against the gap the sender achieved.
/// </summary>
internal readonly record struct PlannedSend(double DueUs, int Slot, int Length, double GapUs);
